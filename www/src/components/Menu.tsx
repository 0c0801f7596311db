import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { cx } from "./ui";

/** A button that opens a small popover menu; closes on Escape, outside clicks and choices. */
export function Menu({
  label,
  button,
  children,
  align = "left",
  buttonClassName,
}: {
  label: string;
  button: ReactNode;
  children: (close: () => void) => ReactNode;
  align?: "left" | "right";
  buttonClassName?: string;
}) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const btn = useRef<HTMLButtonElement>(null);
  const id = useId();
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        setOpen(false);
        btn.current?.focus();
      }
    };
    document.addEventListener("mousedown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);
  const close = () => setOpen(false);
  return (
    <div ref={root} className="relative">
      <button
        ref={btn}
        type="button"
        aria-label={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={() => setOpen((o) => !o)}
        className={cx("focus-ring", buttonClassName)}
      >
        {button}
      </button>
      {open && (
        <div
          id={id}
          role="menu"
          className={cx(
            "absolute top-full z-30 mt-1.5 w-64 animate-fade-in overflow-hidden rounded-xl border border-zinc-200 bg-white p-1 shadow-lift",
            align === "right" ? "right-0" : "left-0",
          )}
        >
          {children(close)}
        </div>
      )}
    </div>
  );
}

export function MenuItem({
  children,
  onSelect,
  href,
  active,
}: {
  children: ReactNode;
  onSelect?: () => void;
  href?: string;
  active?: boolean;
}) {
  const cls = cx(
    "focus-ring flex w-full items-center gap-2.5 rounded-lg px-2.5 py-2 text-left text-sm text-zinc-700 hover:bg-zinc-100 hover:text-zinc-900",
    active && "bg-zinc-50 font-medium text-zinc-900",
  );
  if (href)
    return (
      <a role="menuitem" href={href} className={cls} onClick={onSelect} aria-current={active || undefined}>
        {children}
      </a>
    );
  return (
    <button role="menuitem" type="button" className={cls} onClick={onSelect}>
      {children}
    </button>
  );
}
