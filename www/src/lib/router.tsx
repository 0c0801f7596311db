// A small hash router: routes live after "#", so a reload of any screen is served by the web
// server's one static index.html (it has no SPA fallback).
import { useSyncExternalStore, type AnchorHTMLAttributes } from "react";

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): string {
  const h = window.location.hash.replace(/^#/, "");
  return h.startsWith("/") ? h : `/${h}`;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

export function useLocation(): Location {
  const raw = useSyncExternalStore(subscribe, current);
  const [path, search = ""] = raw.split("?");
  return { path: path.replace(/\/+$/, "") || "/", query: new URLSearchParams(search) };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const target = `#${to}`;
  if (opts.replace) {
    window.history.replaceState(window.history.state, "", target);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else if (window.location.hash !== target) {
    window.location.hash = to;
  }
}

/** Matches "/w/:ws/apps/:appId" against a path; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) {
      try {
        params[p[i].slice(1)] = decodeURIComponent(s[i]);
      } catch {
        return null;
      }
    } else if (p[i] !== s[i]) {
      return null;
    }
  }
  return params;
}

export function href(to: string): string {
  return `#${to}`;
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href"> & { to: string };

export function Link({ to, ...rest }: LinkProps) {
  return <a href={href(to)} {...rest} />;
}

export const paths = {
  home: (ws: string) => `/w/${encodeURIComponent(ws)}`,
  app: (ws: string, appId: string) => `/w/${encodeURIComponent(ws)}/apps/${encodeURIComponent(appId)}`,
  settings: (ws: string, tab = "general") => `/w/${encodeURIComponent(ws)}/settings/${tab}`,
};
