import { useEffect } from "react";
import { Shell } from "./components/Shell";
import { Alert, Button, EmptyState, Icon, Logo, PageLoading } from "./components/ui";
import { lastWorkspace, rememberWorkspace } from "./lib/hooks";
import { Link, match, navigate, paths, useLocation } from "./lib/router";
import { SessionProvider, useSession } from "./lib/session";
import type { Me } from "./lib/types";
import { AppPage } from "./pages/AppPage";
import { IdentityStep, NewWorkspacePage, WorkspaceStep } from "./pages/Onboarding";
import { isSettingsTab, SettingsPage } from "./pages/Settings";
import { WorkspaceHome } from "./pages/WorkspaceHome";

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return <PageLoading />;
}

function homeOf(me: Me): string {
  const last = lastWorkspace();
  const ws = me.memberships.find((m) => m.workspaceId === last)?.workspaceId ?? me.memberships[0].workspaceId;
  return paths.home(ws);
}

function NotFound({ home }: { home: string }) {
  return (
    <div className="flex h-full items-center justify-center">
      <EmptyState
        icon={<Icon name="search" className="h-5 w-5" />}
        title="Page not found"
        action={
          <Link to={home} className="focus-ring rounded-md text-sm font-medium text-accent-700 hover:underline">
            Go to your apps
          </Link>
        }
      >
        The link may be old, or the page was moved.
      </EmptyState>
    </div>
  );
}

function NoAccess({ home }: { home: string }) {
  return (
    <div className="flex h-full items-center justify-center">
      <EmptyState
        icon={<Icon name="users" className="h-5 w-5" />}
        title="You're not a member of this workspace"
        action={
          <Link to={home} className="focus-ring rounded-md text-sm font-medium text-accent-700 hover:underline">
            Go to your workspace
          </Link>
        }
      >
        Ask one of its admins to invite you.
      </EmptyState>
    </div>
  );
}

function Routes() {
  const { state, refresh } = useSession();
  const { path } = useLocation();

  if (state.kind === "loading") return <PageLoading />;
  if (state.kind === "error")
    return (
      <div className="flex h-full items-center justify-center px-4">
        <div className="w-full max-w-md text-center">
          <Logo className="mx-auto h-10 w-10" />
          <Alert className="mt-6 text-left" title="Second isn't responding" action={<Button size="sm" onClick={() => void refresh()}>Retry</Button>}>
            {state.message}
          </Alert>
        </div>
      </div>
    );
  // Onboarding screens follow the session state, whatever the URL says: a sign-in changes the
  // state and the URL at about the same time, and neither may bounce the other.
  if (state.kind === "anonymous") return <IdentityStep />;
  if (state.kind === "needs-workspace") {
    if (path === "/onboarding/identity") return <IdentityStep initial={state.me.user} />;
    return <WorkspaceStep />;
  }

  const me = state.me;
  const home = homeOf(me);
  if (path === "/" || path.startsWith("/onboarding")) return <Redirect to={home} />;
  if (path === "/new-workspace")
    return (
      <div className="flex h-full flex-col">
        <header className="flex h-14 items-center border-b border-zinc-200 bg-white px-4">
          <Link to={home} className="focus-ring rounded-md" aria-label="Second home">
            <Logo />
          </Link>
        </header>
        <main className="flex-1 overflow-y-auto">
          <NewWorkspacePage />
        </main>
      </div>
    );

  const wsMatch = match("/w/:ws", path) ?? match("/w/:ws/apps/:appId", path) ?? match("/w/:ws/settings", path) ?? match("/w/:ws/settings/:tab", path);
  if (!wsMatch) return <NotFound home={home} />;
  const ws = wsMatch.ws;
  if (!me.memberships.some((m) => m.workspaceId === ws))
    return (
      <Shell ws={me.memberships[0].workspaceId} section="none">
        <NoAccess home={home} />
      </Shell>
    );
  return <Workspace ws={ws} path={path} home={home} />;
}

function Workspace({ ws, path, home }: { ws: string; path: string; home: string }) {
  useEffect(() => rememberWorkspace(ws), [ws]);
  const app = match("/w/:ws/apps/:appId", path);
  if (app)
    return (
      <Shell ws={ws} section="apps">
        <AppPage key={app.appId} ws={ws} appId={app.appId} />
      </Shell>
    );
  if (match("/w/:ws/settings", path)) return <Redirect to={paths.settings(ws)} />;
  const settings = match("/w/:ws/settings/:tab", path);
  if (settings)
    return (
      <Shell ws={ws} section="settings">
        {isSettingsTab(settings.tab) ? <SettingsPage ws={ws} tab={settings.tab} /> : <NotFound home={home} />}
      </Shell>
    );
  return (
    <Shell ws={ws} section="apps">
      <WorkspaceHome ws={ws} />
    </Shell>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Routes />
    </SessionProvider>
  );
}
