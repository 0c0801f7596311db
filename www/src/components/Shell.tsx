import type { ReactNode } from "react";
import { api, errorMessage } from "../lib/api";
import { initials } from "../lib/hooks";
import { href, Link, navigate, paths } from "../lib/router";
import { useMe, useSession } from "../lib/session";
import { Menu, MenuItem } from "./Menu";
import { cx, Icon, Logo } from "./ui";

export type Section = "apps" | "settings" | "none";

export function Shell({ ws, section, children }: { ws: string; section: Section; children: ReactNode }) {
  const me = useMe();
  const { refresh } = useSession();
  const current = me.memberships.find((m) => m.workspaceId === ws);
  const wsName = current?.workspaceName ?? ws;

  const signOut = async () => {
    try {
      await api.signOut();
    } catch (err) {
      window.alert(errorMessage(err));
      return;
    }
    navigate("/", { replace: true });
    await refresh();
  };

  const navItem = (to: string, label: string, active: boolean) => (
    <Link
      to={to}
      aria-current={active ? "page" : undefined}
      className={cx(
        "focus-ring rounded-md px-2.5 py-1.5 text-sm font-medium transition-colors",
        active ? "bg-zinc-100 text-zinc-900" : "text-zinc-500 hover:bg-zinc-50 hover:text-zinc-900",
      )}
    >
      {label}
    </Link>
  );

  return (
    <div className="flex h-full flex-col">
      {/* Routes live in the hash, so following "#main" would leave the page: move focus instead. */}
      <a
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
        className="focus-ring sr-only z-50 rounded bg-white px-3 py-2 focus:not-sr-only focus:absolute focus:left-3 focus:top-3"
      >
        Skip to content
      </a>
      <header className="z-20 flex h-14 shrink-0 items-center gap-3 border-b border-zinc-200 bg-white/90 px-4 backdrop-blur">
        <Link to={paths.home(ws)} className="focus-ring flex items-center gap-2 rounded-md" aria-label="Second home">
          <Logo className="h-7 w-7" />
        </Link>
        <span className="text-zinc-300" aria-hidden="true">/</span>
        <Menu
          label={`Workspace: ${wsName}`}
          buttonClassName="flex max-w-[14rem] items-center gap-1.5 rounded-md px-2 py-1 text-sm font-semibold text-zinc-900 hover:bg-zinc-100"
          button={
            <>
              <span className="truncate">{wsName}</span>
              <Icon name="chevronDown" className="h-3.5 w-3.5 text-zinc-400" />
            </>
          }
        >
          {(close) => (
            <>
              <p className="px-2.5 pb-1 pt-1.5 text-xs font-medium uppercase tracking-wide text-zinc-400">Workspaces</p>
              {me.memberships.map((m) => (
                <MenuItem key={m.workspaceId} href={href(paths.home(m.workspaceId))} active={m.workspaceId === ws} onSelect={close}>
                  <span className="flex h-6 w-6 items-center justify-center rounded-md bg-zinc-100 text-[11px] font-semibold text-zinc-600">
                    {initials(m.workspaceName ?? m.workspaceId)}
                  </span>
                  <span className="min-w-0 flex-1 truncate">{m.workspaceName ?? m.workspaceId}</span>
                  {m.workspaceId === ws && <Icon name="check" className="h-4 w-4 text-accent-600" />}
                </MenuItem>
              ))}
              <div className="my-1 border-t border-zinc-100" />
              <MenuItem href={href("/new-workspace")} onSelect={close}>
                <Icon name="plus" className="h-4 w-4 text-zinc-400" />
                New workspace
              </MenuItem>
            </>
          )}
        </Menu>
        <nav aria-label="Workspace" className="ml-2 flex items-center gap-1">
          {navItem(paths.home(ws), "Apps", section === "apps")}
          {navItem(paths.settings(ws), "Settings", section === "settings")}
        </nav>
        <div className="ml-auto">
          <Menu
            label="Account"
            align="right"
            buttonClassName="flex h-8 w-8 items-center justify-center rounded-full bg-zinc-900 text-xs font-semibold text-white hover:bg-zinc-700"
            button={initials(me.user.displayName)}
          >
            {() => (
              <>
                <div className="px-2.5 pb-2 pt-1.5">
                  <p className="truncate text-sm font-medium text-zinc-900">{me.user.displayName}</p>
                  <p className="truncate text-xs text-zinc-500">{me.user.email}</p>
                </div>
                <div className="my-1 border-t border-zinc-100" />
                <MenuItem onSelect={() => void signOut()}>
                  <Icon name="logout" className="h-4 w-4 text-zinc-400" />
                  Sign out
                </MenuItem>
              </>
            )}
          </Menu>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="min-h-0 flex-1 focus:outline-none">
        {children}
      </main>
    </div>
  );
}
