import { useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { probeOf, RuntimePicker, RuntimeStatus } from "../components/RuntimePicker";
import { Alert, Badge, Button, EmptyState, Icon, Kbd, Spinner, type BadgeTone } from "../components/ui";
import { api, ApiError, errorMessage } from "../lib/api";
import { appNameFromPrompt } from "../lib/app-name";
import { initials, timeAgo, useAsync, useDocumentTitle, useInterval } from "../lib/hooks";
import { setPendingPrompt } from "../lib/pending";
import { Link, navigate, paths } from "../lib/router";
import { normalizeSelection, RUNTIMES, type RuntimeSelection } from "../lib/runtimes";
import { useMe } from "../lib/session";
import type { App } from "../lib/types";

const SELECTION_KEY = "second:runtime-selection";

function savedSelection(): RuntimeSelection | null {
  try {
    const raw = localStorage.getItem(SELECTION_KEY);
    return raw ? normalizeSelection(JSON.parse(raw) as RuntimeSelection) : null;
  } catch {
    return null;
  }
}

const STARTERS = [
  { title: "Customer feedback tracker", prompt: "A customer feedback tracker where the team logs feedback, tags it by product area and sees the top themes on a dashboard." },
  { title: "Team OKR board", prompt: "A team OKR board with objectives, key results and weekly check-ins, showing progress per owner." },
  { title: "Inventory manager", prompt: "An inventory manager for our office supplies: items, stock levels, low-stock alerts and a request form." },
  { title: "Expense approvals", prompt: "An expense approval app: employees submit expenses with a category and amount, managers approve or reject them." },
];

function statusBadge(runStatus: string | undefined, publishStatus: string): { tone: BadgeTone; label: string; dot?: boolean } | null {
  if (runStatus === "streaming") return { tone: "accent", label: "Building", dot: true };
  if (runStatus === "failed") return { tone: "red", label: "Needs attention", dot: true };
  if (publishStatus === "published") return { tone: "green", label: "Published" };
  if (publishStatus === "review_requested") return { tone: "amber", label: "In review" };
  if (publishStatus === "changes_requested") return { tone: "amber", label: "Changes requested" };
  return { tone: "neutral", label: "Draft" };
}

const avatarColors = [
  "bg-indigo-100 text-indigo-700",
  "bg-emerald-100 text-emerald-700",
  "bg-amber-100 text-amber-800",
  "bg-rose-100 text-rose-700",
  "bg-sky-100 text-sky-700",
  "bg-violet-100 text-violet-700",
];

function colorFor(id: string): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return avatarColors[h % avatarColors.length];
}

function AppCard({ ws, app, runStatus }: { ws: string; app: App; runStatus?: string }) {
  const badge = statusBadge(runStatus, app.publishStatus);
  return (
    <li>
      <Link
        to={paths.app(ws, app.id)}
        className="focus-ring group flex h-full flex-col rounded-xl border border-zinc-200 bg-white p-4 shadow-card transition hover:-translate-y-px hover:border-zinc-300 hover:shadow-lift"
      >
        <div className="flex items-start gap-3">
          <span className={`flex h-9 w-9 shrink-0 items-center justify-center rounded-lg text-xs font-semibold ${colorFor(app.id)}`} aria-hidden="true">
            {initials(app.name)}
          </span>
          <div className="min-w-0 flex-1">
            <p className="line-clamp-2 text-[15px] font-semibold leading-snug text-zinc-900 group-hover:text-accent-700">{app.name}</p>
            <p className="mt-1 line-clamp-2 text-[13px] leading-relaxed text-zinc-500">{app.description || "No description yet."}</p>
          </div>
        </div>
        <div className="mt-auto flex items-center justify-between gap-2 pt-4">
          <p className="text-xs text-zinc-400">Updated {timeAgo(app.updatedAt)}</p>
          {badge && (
            <Badge tone={badge.tone} dot={badge.dot}>
              {badge.label}
            </Badge>
          )}
        </div>
      </Link>
    </li>
  );
}

export function WorkspaceHome({ ws }: { ws: string }) {
  const me = useMe();
  const wsName = me.memberships.find((m) => m.workspaceId === ws)?.workspaceName ?? ws;
  useDocumentTitle(wsName);

  const [prompt, setPrompt] = useState("");
  const [selection, setSelection] = useState<RuntimeSelection>(() => savedSelection() ?? normalizeSelection({}));
  const [userPicked, setUserPicked] = useState(() => savedSelection() !== null);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);

  const detect = useAsync(() => api.detectProvider(), []);
  const apps = useAsync(() => api.apps(ws), [ws]);
  const statuses = useAsync(() => api.appStatuses(ws).catch(() => ({ statuses: {} as Record<string, string> })), [ws]);
  const anyBuilding = useMemo(() => Object.values(statuses.data?.statuses ?? {}).includes("streaming"), [statuses.data]);
  useInterval(
    () => {
      statuses.reload();
      apps.reload();
    },
    5000,
    anyBuilding,
  );

  // Until the user picks one, default to the first runtime that is installed.
  useEffect(() => {
    if (userPicked || !detect.data) return;
    const first = RUNTIMES.find((r) => probeOf(detect.data, r.id)?.available);
    if (first && first.id !== selection.runtimeId) setSelection(normalizeSelection({ runtimeId: first.id }));
  }, [detect.data, userPicked, selection.runtimeId]);

  const pick = (v: RuntimeSelection) => {
    setSelection(v);
    setUserPicked(true);
    try {
      localStorage.setItem(SELECTION_KEY, JSON.stringify(v));
    } catch {
      /* not kept */
    }
  };

  const probe = probeOf(detect.data, selection.runtimeId);
  const unavailable = !!detect.data && detect.data.workerReachable !== false && probe !== undefined && !probe.available;

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const text = prompt.trim();
    if (!text || creating) {
      textarea.current?.focus();
      return;
    }
    setError(null);
    setCreating(true);
    const sel = normalizeSelection(selection);
    try {
      const app = await api.createApp(ws, {
        appName: appNameFromPrompt(text),
        prompt: text,
        runtimeId: sel.runtimeId,
        runtimeModel: sel.runtimeModel,
        runtimeParams: sel.runtimeParams,
      });
      const run = await api.createRun(ws, app.id);
      setPendingPrompt(run.id, text);
      navigate(paths.app(ws, app.id));
    } catch (err) {
      setError(err instanceof ApiError && err.code === "invalid_prompt" ? "That description is too long." : errorMessage(err));
      setCreating(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) {
      e.preventDefault();
      void submit();
    }
  };

  const items = apps.data?.items ?? [];

  return (
    <div className="h-full overflow-y-auto scrollbar-thin">
      <div className="relative">
        <div aria-hidden="true" className="pointer-events-none absolute inset-x-0 top-0 h-80 bg-[radial-gradient(50rem_20rem_at_50%_-20%,rgba(99,102,241,0.10),transparent)]" />
        <section className="relative mx-auto max-w-[52rem] px-4 pb-10 pt-14 sm:pt-20">
          <h1 className="text-center text-3xl font-semibold tracking-tight text-zinc-900 sm:text-[2.5rem] sm:leading-tight">
            <label htmlFor="build-prompt">What do you want to build?</label>
          </h1>
          <p className="mx-auto mt-3 max-w-lg text-center text-[15px] text-zinc-500">
            Describe an internal tool in plain words. An agent plans it with you, builds it and shows you a live preview.
          </p>
          <form onSubmit={submit} className="card mt-8 overflow-hidden shadow-lift transition focus-within:border-accent-300 focus-within:ring-4 focus-within:ring-accent-500/10">
            <textarea
              id="build-prompt"
              ref={textarea}
              value={prompt}
              onChange={(e) => setPrompt(e.target.value)}
              onKeyDown={onKeyDown}
              rows={4}
              maxLength={20000}
              placeholder="A dashboard where the support team tracks open escalations by customer and priority…"
              className="block min-h-[7.5rem] w-full resize-none border-0 bg-transparent px-5 pt-4 text-[15px] leading-relaxed text-zinc-900 placeholder:text-zinc-400 focus:outline-none focus:ring-0"
              disabled={creating}
            />
            <div className="flex items-end gap-2 border-t border-zinc-100 bg-zinc-50/60 px-3 py-2.5">
              <div className="min-w-0 flex-1">
                <RuntimePicker value={selection} onChange={pick} detect={detect.data} disabled={creating} />
              </div>
              <div className="flex shrink-0 items-center gap-3">
                <span className="hidden text-xs text-zinc-400 lg:inline">
                  <Kbd>Ctrl</Kbd> <Kbd>Enter</Kbd>
                </span>
                <Button type="submit" variant="primary" loading={creating} disabled={!prompt.trim() || unavailable}>
                  {!creating && <Icon name="sparkles" className="h-4 w-4" />}
                  Build
                </Button>
              </div>
            </div>
          </form>
          <div className="mt-3 px-1">
            <RuntimeStatus selection={selection} detect={detect.data} loading={detect.loading} failed={!!detect.error} />
          </div>
          {error && <Alert className="mt-4">{error}</Alert>}
          {!prompt && (
            <div className="mt-6 flex flex-wrap justify-center gap-2">
              {STARTERS.map((s) => (
                <button
                  key={s.title}
                  type="button"
                  onClick={() => {
                    setPrompt(s.prompt);
                    textarea.current?.focus();
                  }}
                  className="focus-ring rounded-full border border-zinc-200 bg-white px-3 py-1.5 text-[13px] text-zinc-600 shadow-sm transition hover:border-zinc-300 hover:text-zinc-900"
                >
                  {s.title}
                </button>
              ))}
            </div>
          )}
        </section>
      </div>

      <section aria-labelledby="apps-heading" className="mx-auto max-w-5xl px-4 pb-20">
        <div className="mb-4 flex items-baseline justify-between">
          <h2 id="apps-heading" className="text-base font-semibold text-zinc-900">
            Apps
          </h2>
          {items.length > 0 && <p className="text-xs text-zinc-500">{items.length === 1 ? "1 app" : `${items.length} apps`}</p>}
        </div>
        {apps.loading && !apps.data ? (
          <div className="flex justify-center py-12 text-zinc-400" role="status">
            <Spinner className="h-5 w-5" />
            <span className="sr-only">Loading apps</span>
          </div>
        ) : apps.error ? (
          <Alert action={<Button size="sm" onClick={apps.reload}>Retry</Button>}>{errorMessage(apps.error)}</Alert>
        ) : items.length === 0 ? (
          <div className="rounded-xl border border-dashed border-zinc-300 bg-white/60">
            <EmptyState icon={<Icon name="grid" className="h-5 w-5" />} title="No apps yet">
              Describe your first app above. It shows up here while the agent builds it.
            </EmptyState>
          </div>
        ) : (
          <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
            {items.map((app) => (
              <AppCard key={app.id} ws={ws} app={app} runStatus={statuses.data?.statuses[app.id]} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
