export type ClassValue = string | number | null | undefined | false | ClassValue[] | Record<string, boolean | null | undefined>;

/** Joins class names, skipping falsy values; objects contribute their truthy keys. */
export function cn(...inputs: ClassValue[]): string {
  const out: string[] = [];
  const add = (v: ClassValue): void => {
    if (!v && v !== 0) return;
    if (Array.isArray(v)) v.forEach(add);
    else if (typeof v === "object") {
      for (const [k, on] of Object.entries(v)) if (on) out.push(k);
    } else out.push(String(v));
  };
  inputs.forEach(add);
  return out.join(" ");
}
