import { useCallback, useEffect, useState } from "react";
import { ChatPanel, type ChatActivity } from "../components/chat/ChatPanel";
import { Preview } from "../components/Preview";
import { Alert, Badge, Button, EmptyState, Icon, PageLoading } from "../components/ui";
import { api, ApiError, errorMessage } from "../lib/api";
import { useDocumentTitle } from "../lib/hooks";
import { Link, paths } from "../lib/router";
import type { App, ChatSnapshot } from "../lib/types";

interface Loaded {
  app: App;
  run: { id: string; snapshot: ChatSnapshot } | null;
}

async function load(ws: string, appId: string): Promise<Loaded> {
  const app = await api.app(ws, appId);
  let runs;
  try {
    runs = (await api.runs(ws, appId)).runs;
  } catch (err) {
    // Viewers of a published app see its preview, not its builder chat.
    if (err instanceof ApiError && (err.status === 403 || err.status === 404)) return { app, run: null };
    throw err;
  }
  let runId = runs[0]?.id;
  if (!runId) {
    try {
      runId = (await api.createRun(ws, appId)).id;
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return { app, run: null };
      throw err;
    }
  }
  const snapshot = await api.chat(ws, appId, runId);
  return { app, run: { id: runId, snapshot } };
}

export function AppPage({ ws, appId }: { ws: string; appId: string }) {
  const [state, setState] = useState<{ data?: Loaded; error?: unknown }>({});
  const [buildSeq, setBuildSeq] = useState(0);
  const [activity, setActivity] = useState<ChatActivity>({ busy: false, needsInput: false, failed: false });
  useDocumentTitle(state.data?.app.name ?? "App");

  useEffect(() => {
    let cancelled = false;
    setState({});
    load(ws, appId).then(
      (data) => !cancelled && setState({ data }),
      (error: unknown) => !cancelled && setState({ error }),
    );
    return () => {
      cancelled = true;
    };
  }, [ws, appId]);

  const onBuilt = useCallback(() => setBuildSeq((n) => n + 1), []);
  const onActivity = useCallback((a: ChatActivity) => setActivity(a), []);

  if (state.error) {
    const notFound = state.error instanceof ApiError && state.error.status === 404;
    return (
      <div className="flex h-full items-center justify-center px-4">
        {notFound ? (
          <EmptyState
            icon={<Icon name="grid" className="h-5 w-5" />}
            title="This app doesn't exist"
            action={
              <Link to={paths.home(ws)} className="focus-ring rounded-md text-sm font-medium text-accent-700 hover:underline">
                Back to apps
              </Link>
            }
          >
            It may have been deleted, or you may not have access to it.
          </EmptyState>
        ) : (
          <Alert className="max-w-md" action={<Button size="sm" onClick={() => window.location.reload()}>Retry</Button>}>
            {errorMessage(state.error)}
          </Alert>
        )}
      </div>
    );
  }
  if (!state.data) return <PageLoading label="Loading app" />;

  const { app, run } = state.data;
  const badge = activity.busy
    ? { tone: "accent" as const, label: "Building", dot: true }
    : activity.needsInput
      ? { tone: "amber" as const, label: "Waiting for you", dot: true }
      : activity.failed
        ? { tone: "red" as const, label: "Needs attention", dot: true }
        : app.publishStatus === "published"
          ? { tone: "green" as const, label: "Published", dot: false }
          : { tone: "neutral" as const, label: "Draft", dot: false };

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div className="flex h-12 shrink-0 items-center gap-3 border-b border-zinc-200 bg-white px-4">
        <Link
          to={paths.home(ws)}
          className="focus-ring -ml-1.5 flex h-8 w-8 items-center justify-center rounded-md text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900"
          aria-label="Back to apps"
        >
          <Icon name="arrowLeft" className="h-4 w-4" />
        </Link>
        <h1 className="min-w-0 truncate text-[15px] font-semibold text-zinc-900">{app.name}</h1>
        <Badge tone={badge.tone} dot={badge.dot}>
          {badge.label}
        </Badge>
      </div>
      <div className="flex min-h-0 flex-1 flex-col md:flex-row">
        <section aria-label="Chat" className="flex min-h-0 flex-1 flex-col border-zinc-200 bg-zinc-50/40 md:w-[440px] md:flex-none md:border-r lg:w-[480px]">
          {run ? (
            <ChatPanel
              key={run.id}
              ws={ws}
              appId={app.id}
              runId={run.id}
              initial={run.snapshot}
              onBuilt={onBuilt}
              onActivity={onActivity}
            />
          ) : (
            <EmptyState className="h-full" icon={<Icon name="users" className="h-5 w-5" />} title="View only">
              Only this app's builders can chat with its agent. You can use the published version on the right.
            </EmptyState>
          )}
        </section>
        <section aria-label="Preview" className="min-h-[50vh] flex-1 md:min-h-0">
          <Preview ws={ws} appId={app.id} buildSeq={buildSeq} busy={activity.busy} canSeeDraft={!!run} />
        </section>
      </div>
    </div>
  );
}
