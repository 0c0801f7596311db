// The latest build of an app, in a sandboxed frame (P-9). The preview is served from
// /preview/<ws>/<app>/<version>/ with `Content-Security-Policy: sandbox ...`, and the frame
// gets the same sandbox, never allow-same-origin: the app runs in an opaque origin and reaches
// its data only through the postMessage bridge (lib/app-bridge).
import { useEffect, useRef, useState } from "react";
import { api, errorMessage, previewUrl } from "../lib/api";
import { attachAppDataBridge } from "../lib/app-bridge";
import { Alert, Button, cx, EmptyState, Icon, Spinner } from "./ui";

type Version = "draft" | "published";

interface Info {
  built: boolean;
  hasPublishedVersion: boolean;
  version: Version;
}

export function Preview({
  ws,
  appId,
  buildSeq,
  busy,
  canSeeDraft,
}: {
  ws: string;
  appId: string;
  /** Bumped after each successful build: refetch and reload. */
  buildSeq: number;
  busy: boolean;
  canSeeDraft: boolean;
}) {
  const [version, setVersion] = useState<Version>(canSeeDraft ? "draft" : "published");
  const [info, setInfo] = useState<Info | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [frameKey, setFrameKey] = useState(0);
  const [loaded, setLoaded] = useState(false);
  const frame = useRef<HTMLIFrameElement>(null);

  useEffect(() => {
    let cancelled = false;
    setError(null);
    api.appFiles(ws, appId, version).then(
      (r) => {
        if (cancelled) return;
        const files = r.files ?? {};
        setInfo({ built: "dist/index.html" in files, hasPublishedVersion: r.hasPublishedVersion, version: r.version });
        setLoaded(false);
        setFrameKey((k) => k + 1);
      },
      (err: unknown) => {
        if (!cancelled) setError(err);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [ws, appId, version, buildSeq]);

  useEffect(
    () => attachAppDataBridge(() => frame.current, { workspaceId: ws, appId, version: info?.version ?? version }),
    [ws, appId, version, info?.version],
  );

  const src = previewUrl(ws, appId, info?.version ?? version);
  const showSwitch = canSeeDraft && !!info?.hasPublishedVersion;

  return (
    <div className="flex h-full min-h-0 flex-col bg-zinc-100/70">
      <div className="flex h-11 shrink-0 items-center gap-2 border-b border-zinc-200 bg-white px-3">
        <h2 className="flex items-center gap-2 text-[13px] font-medium text-zinc-700">
          <Icon name="monitor" className="h-4 w-4 text-zinc-400" />
          Preview
        </h2>
        {showSwitch && (
          <div role="radiogroup" aria-label="Version" className="ml-2 flex rounded-lg bg-zinc-100 p-0.5 text-xs font-medium">
            {(["draft", "published"] as const).map((v) => (
              <button
                key={v}
                type="button"
                role="radio"
                aria-checked={version === v}
                onClick={() => setVersion(v)}
                className={cx(
                  "focus-ring rounded-md px-2.5 py-1 capitalize transition",
                  version === v ? "bg-white text-zinc-900 shadow-sm" : "text-zinc-500 hover:text-zinc-800",
                )}
              >
                {v}
              </button>
            ))}
          </div>
        )}
        <div className="ml-auto flex items-center gap-1">
          {info?.built && (
            <>
              <Button
                variant="ghost"
                size="sm"
                aria-label="Reload preview"
                title="Reload preview"
                onClick={() => {
                  setLoaded(false);
                  setFrameKey((k) => k + 1);
                }}
              >
                <Icon name="refresh" className="h-4 w-4" />
              </Button>
              <a
                href={src}
                target="_blank"
                rel="noopener noreferrer"
                className="focus-ring inline-flex h-8 items-center gap-1.5 rounded-md px-2.5 text-[13px] font-medium text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900"
              >
                <Icon name="external" className="h-4 w-4" />
                Open
              </a>
            </>
          )}
        </div>
      </div>
      <div className="relative min-h-0 flex-1 p-3">
        {error ? (
          <div className="flex h-full items-center justify-center">
            <Alert className="max-w-md">{errorMessage(error)}</Alert>
          </div>
        ) : !info ? (
          <div className="flex h-full items-center justify-center text-zinc-400" role="status">
            <Spinner className="h-5 w-5" />
            <span className="sr-only">Loading preview</span>
          </div>
        ) : !info.built ? (
          <div className="flex h-full items-center justify-center rounded-xl border border-dashed border-zinc-300 bg-white/70">
            <EmptyState
              icon={busy ? <Spinner className="h-5 w-5 text-accent-500" /> : <Icon name="monitor" className="h-5 w-5" />}
              title={busy ? "The agent is working on your app" : info.version === "published" ? "Nothing published yet" : "No preview yet"}
            >
              {busy
                ? "The preview appears here as soon as the first build succeeds."
                : info.version === "published"
                  ? "When a builder publishes this app, it shows up here."
                  : "Approve a plan in the chat and the agent builds the first version."}
            </EmptyState>
          </div>
        ) : (
          <div className="relative h-full overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-card">
            {!loaded && (
              <div className="absolute inset-0 flex items-center justify-center bg-white text-zinc-400" role="status">
                <Spinner className="h-5 w-5" />
                <span className="sr-only">Loading app</span>
              </div>
            )}
            <iframe
              key={frameKey}
              ref={frame}
              title="App preview"
              src={src}
              sandbox="allow-scripts allow-forms allow-modals"
              referrerPolicy="no-referrer"
              onLoad={() => setLoaded(true)}
              className="h-full w-full border-0 bg-white"
            />
          </div>
        )}
      </div>
    </div>
  );
}
