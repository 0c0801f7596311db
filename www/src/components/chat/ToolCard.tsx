import { useState } from "react";
import type { DynamicToolUIPart } from "ai";
import { Markdown } from "../../lib/markdown";
import { buildResult, toolBaseName, toolOutputText } from "../../lib/tool-output";
import { cx, Icon, Spinner } from "../ui";

type IconName = Parameters<typeof Icon>[0]["name"];

const TOOLS: Record<string, { label: string; icon: IconName }> = {
  Write: { label: "Write file", icon: "file" },
  Edit: { label: "Edit file", icon: "pencil" },
  MultiEdit: { label: "Edit file", icon: "pencil" },
  NotebookEdit: { label: "Edit notebook", icon: "pencil" },
  Read: { label: "Read file", icon: "file" },
  Bash: { label: "Run command", icon: "terminal" },
  Glob: { label: "Find files", icon: "search" },
  Grep: { label: "Search code", icon: "search" },
  LS: { label: "List files", icon: "search" },
  WebSearch: { label: "Search the web", icon: "globe" },
  WebFetch: { label: "Read a web page", icon: "globe" },
  Skill: { label: "Use a skill", icon: "sparkles" },
  TodoWrite: { label: "Update to-do list", icon: "check" },
  Task: { label: "Run a sub-task", icon: "layers" },
  set_app_metadata: { label: "Name the app", icon: "tag" },
  list_app_integration_keys: { label: "Check integrations", icon: "layers" },
  present_integration_setup: { label: "Integration setup", icon: "layers" },
  present_agents: { label: "Review agents", icon: "users" },
  present_plan: { label: "Plan", icon: "sparkles" },
  present_suggestions: { label: "Suggestions", icon: "sparkles" },
  done_building: { label: "Build the app", icon: "hammer" },
};

function describe(toolName: string): { label: string; icon: IconName } {
  const base = toolBaseName(toolName);
  const lower = base.toLowerCase();
  return TOOLS[base] ?? TOOLS[base[0]?.toUpperCase() + base.slice(1)] ?? (lower.includes("bash") || lower.includes("exec") ? TOOLS.Bash : { label: base.replace(/_/g, " "), icon: "wrench" });
}

function shortPath(p: string): string {
  const rel = p.replace(/^.*\/workspaces\/[^/]+\//, "").replace(/^\.\//, "");
  return rel.length > 56 ? `…${rel.slice(-55)}` : rel;
}

/** One line that says what the call is about: a path, a command, a query. */
export function inputSummary(input: unknown): string {
  if (!input || typeof input !== "object") return typeof input === "string" ? input : "";
  const o = input as Record<string, unknown>;
  for (const k of ["file_path", "filePath", "notebook_path", "path"]) if (typeof o[k] === "string") return shortPath(o[k] as string);
  for (const k of ["command", "cmd"]) {
    const v = o[k];
    if (typeof v === "string") return v;
    if (Array.isArray(v)) return v.join(" ");
  }
  for (const k of ["pattern", "query", "url", "skill", "name", "summary", "description", "title"]) if (typeof o[k] === "string") return o[k] as string;
  return "";
}

function pretty(v: unknown): string {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v, null, 2) ?? "";
  } catch {
    return String(v);
  }
}

const MAX_SHOWN = 6000;

function clip(text: string, tail = false): string {
  if (text.length <= MAX_SHOWN) return text;
  return tail ? `…\n${text.slice(-MAX_SHOWN)}` : `${text.slice(0, MAX_SHOWN)}\n…`;
}

function StateIcon({ part }: { part: DynamicToolUIPart }) {
  if (part.state === "output-error" || part.state === "output-denied")
    return (
      <span className="flex h-4 w-4 items-center justify-center rounded-full bg-red-100 text-red-600" aria-label="Failed" role="img">
        <Icon name="x" className="h-3 w-3" />
      </span>
    );
  if (part.state === "output-available" && !part.preliminary)
    return (
      <span className="flex h-4 w-4 items-center justify-center rounded-full bg-emerald-100 text-emerald-600" aria-label="Done" role="img">
        <Icon name="check" className="h-3 w-3" />
      </span>
    );
  return <Spinner className="h-3.5 w-3.5 text-accent-500" label="Running" />;
}

export function ToolCard({ part, live }: { part: DynamicToolUIPart; live: boolean }) {
  const [open, setOpen] = useState(false);
  const { label, icon } = describe(part.toolName);
  const summary = inputSummary(part.input);
  const running = part.state === "input-streaming" || part.state === "input-available" || (part.state === "output-available" && !!part.preliminary);
  const stalled = running && !live;
  const output = part.state === "output-available" ? toolOutputText(part.output) : "";
  const isCommand = describe(part.toolName).icon === "terminal";
  const liveTail = running && isCommand && output ? output.split("\n").slice(-8).join("\n") : "";
  const detailsId = `tool-${part.toolCallId}`;

  return (
    <div className={cx("rounded-lg border bg-white text-[13px]", part.state === "output-error" ? "border-red-200" : "border-zinc-200")}>
      <button
        type="button"
        onClick={() => setOpen((o) => !o)}
        aria-expanded={open}
        aria-controls={detailsId}
        className="focus-ring flex w-full items-center gap-2.5 rounded-lg px-2.5 py-2 text-left hover:bg-zinc-50"
      >
        <span className="flex h-6 w-6 shrink-0 items-center justify-center rounded-md bg-zinc-100 text-zinc-500">
          <Icon name={icon} className="h-3.5 w-3.5" />
        </span>
        <span className="shrink-0 font-medium text-zinc-800">{label}</span>
        {summary && <span className="min-w-0 flex-1 truncate font-mono text-[12px] text-zinc-500">{summary}</span>}
        {!summary && <span className="flex-1" />}
        {stalled ? <span className="text-xs text-zinc-400">Interrupted</span> : <StateIcon part={part} />}
        <Icon name="chevronDown" className={cx("h-3.5 w-3.5 shrink-0 text-zinc-400 transition-transform", open && "rotate-180")} />
      </button>
      {liveTail && !open && (
        <pre className="mx-2.5 mb-2.5 max-h-40 overflow-auto rounded-md bg-zinc-900 p-2 font-mono text-[11.5px] leading-relaxed text-zinc-300 scrollbar-thin">
          {liveTail}
        </pre>
      )}
      {open && (
        <div id={detailsId} className="space-y-2 border-t border-zinc-100 px-2.5 pb-2.5 pt-2">
          {part.input !== undefined && (
            <div>
              <p className="mb-1 text-[11px] font-medium uppercase tracking-wide text-zinc-400">Input</p>
              <pre className="max-h-60 overflow-auto whitespace-pre-wrap break-words rounded-md bg-zinc-50 p-2 font-mono text-[11.5px] text-zinc-700 scrollbar-thin">
                {clip(pretty(part.input))}
              </pre>
            </div>
          )}
          {(output || part.state === "output-error") && (
            <div>
              <p className="mb-1 text-[11px] font-medium uppercase tracking-wide text-zinc-400">{part.state === "output-error" ? "Error" : "Output"}</p>
              <pre
                className={cx(
                  "max-h-72 overflow-auto whitespace-pre-wrap break-words rounded-md p-2 font-mono text-[11.5px] scrollbar-thin",
                  part.state === "output-error" ? "bg-red-50 text-red-800" : "bg-zinc-900 text-zinc-200",
                )}
              >
                {part.state === "output-error" ? part.errorText : clip(output, true)}
              </pre>
            </div>
          )}
        </div>
      )}
    </div>
  );
}

export function BuildCard({ part, live }: { part: DynamicToolUIPart; live: boolean }) {
  const [open, setOpen] = useState(false);
  const running = part.state !== "output-available" && part.state !== "output-error";
  const result = part.state === "output-available" ? buildResult(part.output) : null;
  const failed = part.state === "output-error" || (result !== null && !result.complete);
  const failText = part.state === "output-error" ? part.errorText : result?.text ?? "";

  if (running)
    return (
      <div className="flex items-center gap-3 rounded-lg border border-accent-200 bg-accent-50/60 px-3 py-2.5 text-[13px]" role="status">
        {live ? <Spinner className="h-4 w-4 text-accent-600" /> : <Icon name="hammer" className="h-4 w-4 text-accent-600" />}
        <div>
          <p className="font-medium text-accent-900">{live ? "Building your app…" : "Build interrupted"}</p>
          <p className="text-xs text-accent-800/70">Installing dependencies, type-checking and bundling</p>
        </div>
      </div>
    );
  if (failed)
    return (
      <div className="rounded-lg border border-red-200 bg-red-50/60 text-[13px]">
        <button
          type="button"
          onClick={() => setOpen((o) => !o)}
          aria-expanded={open}
          className="focus-ring flex w-full items-center gap-3 rounded-lg px-3 py-2.5 text-left"
        >
          <Icon name="alert" className="h-4 w-4 text-red-600" />
          <span className="flex-1 font-medium text-red-900">Build failed. The agent will try to fix it.</span>
          <Icon name="chevronDown" className={cx("h-3.5 w-3.5 text-red-400 transition-transform", open && "rotate-180")} />
        </button>
        {open && (
          <pre className="mx-3 mb-3 max-h-72 overflow-auto whitespace-pre-wrap break-words rounded-md bg-white p-2 font-mono text-[11.5px] text-red-900 scrollbar-thin">
            {clip(failText, true)}
          </pre>
        )}
      </div>
    );
  return (
    <div className="rounded-lg border border-emerald-200 bg-emerald-50/60 px-3 py-2.5 text-[13px]">
      <p className="flex items-center gap-2 font-medium text-emerald-900">
        <span className="flex h-4 w-4 items-center justify-center rounded-full bg-emerald-600 text-white">
          <Icon name="check" className="h-3 w-3" />
        </span>
        Build complete
      </p>
      {result?.summary && (
        <div className="mt-1.5 text-emerald-950/80">
          <Markdown text={result.summary} />
        </div>
      )}
    </div>
  );
}
