import type { HTMLAttributes } from "react";
import { cn } from "@/lib/utils";

const variants = {
  default: "bg-slate-900 text-white",
  secondary: "bg-slate-100 text-slate-900",
  outline: "border border-slate-300 text-slate-700",
  success: "bg-emerald-100 text-emerald-800",
  destructive: "bg-red-100 text-red-800",
} as const;

export interface BadgeProps extends HTMLAttributes<HTMLSpanElement> {
  variant?: keyof typeof variants;
}

export function Badge({ className, variant = "default", ...props }: BadgeProps) {
  return (
    <span
      className={cn("inline-flex items-center rounded-full px-2.5 py-0.5 text-xs font-medium", variants[variant], className)}
      {...props}
    />
  );
}
