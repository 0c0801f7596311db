import type { DynamicToolUIPart } from "ai";
import type { ReactNode } from "react";
import { readAgents, readPlan, readSuggestions, type Suggestion } from "../../lib/tool-output";
import { Markdown } from "../../lib/markdown";
import { Badge, Button, cx, Icon } from "../ui";

export type PlanAnswer = "approved" | "changes" | null;

/** The head of a card that asks for an answer: its kind, the answer once given, its title. */
function ApprovalHeader({
  label,
  title,
  titleId,
  answer,
  children,
}: {
  label: string;
  title: string;
  titleId: string;
  answer: PlanAnswer;
  children?: ReactNode;
}) {
  return (
    <div className="border-b border-zinc-100 bg-gradient-to-b from-accent-50/70 to-white px-4 pb-3 pt-3.5">
      <div className="flex items-center justify-between gap-2">
        <p className="text-[11px] font-semibold uppercase tracking-wider text-accent-600">{label}</p>
        {answer === "approved" && <Badge tone="green">Approved</Badge>}
        {answer === "changes" && <Badge tone="amber">Changes requested</Badge>}
      </div>
      <h3 id={titleId} className="mt-1 text-[15px] font-semibold text-zinc-900">
        {title}
      </h3>
      {children}
    </div>
  );
}

/** What the plan and agents cards share: the tool call, its answer and the two actions. */
type ApprovalCardProps = {
  part: DynamicToolUIPart;
  /** The card waits for an answer, and the chat is idle. */
  active: boolean;
  answer: PlanAnswer;
  requestingChanges: boolean;
  onApprove: () => void;
  onRequestChanges: () => void;
};

export function PlanCard({ part, active, answer, requestingChanges, onApprove, onRequestChanges }: ApprovalCardProps) {
  const plan = readPlan(part.state === "output-available" ? part.output : undefined, part.input);
  if (!plan) return null;
  const titleId = `plan-${part.toolCallId}`;
  return (
    <section aria-labelledby={titleId} className="overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-card">
      <ApprovalHeader label="Plan" title={plan.title || "Proposed plan"} titleId={titleId} answer={answer}>
        {plan.overview && <div className="mt-1.5 text-[13px] leading-relaxed text-zinc-600"><Markdown text={plan.overview} /></div>}
      </ApprovalHeader>
      <div className="space-y-4 px-4 py-3.5 text-[13px]">
        {plan.features.length > 0 && (
          <div>
            <p className="mb-2 text-xs font-medium text-zinc-500">Features</p>
            <ul className="space-y-2">
              {plan.features.map((f, i) => (
                <li key={i} className="flex gap-2.5">
                  <span className="flex h-6 w-6 shrink-0 items-center justify-center rounded-md bg-zinc-100 text-sm" aria-hidden="true">
                    {f.emoji || "•"}
                  </span>
                  <div className="min-w-0">
                    <p className="font-medium text-zinc-900">{f.name}</p>
                    {f.description && <p className="text-zinc-600">{f.description}</p>}
                  </div>
                </li>
              ))}
            </ul>
          </div>
        )}
        {plan.dataFlow && (
          <div>
            <p className="mb-1 text-xs font-medium text-zinc-500">How data flows</p>
            <div className="text-zinc-700"><Markdown text={plan.dataFlow} /></div>
          </div>
        )}
        {plan.agents && (
          <div>
            <p className="mb-1 text-xs font-medium text-zinc-500">Agents</p>
            <div className="text-zinc-700"><Markdown text={plan.agents} /></div>
          </div>
        )}
        {plan.backend && (
          <div>
            <p className="mb-1 text-xs font-medium text-zinc-500">Backend</p>
            <div className="text-zinc-700"><Markdown text={plan.backend} /></div>
          </div>
        )}
      </div>
      {active && <ApprovalActions requestingChanges={requestingChanges} onApprove={onApprove} onRequestChanges={onRequestChanges} />}
    </section>
  );
}

function ApprovalActions({
  requestingChanges,
  onApprove,
  onRequestChanges,
  approving = false,
  error = null,
}: {
  requestingChanges: boolean;
  onApprove: () => void;
  onRequestChanges: () => void;
  approving?: boolean;
  error?: string | null;
}) {
  return (
    <div className="flex flex-wrap items-center gap-2 border-t border-zinc-100 bg-zinc-50/70 px-4 py-3">
      <Button variant="primary" size="sm" onClick={onApprove} disabled={approving}>
        <Icon name="check" className="h-3.5 w-3.5" />
        {approving ? "Approving…" : "Approve"}
      </Button>
      <Button size="sm" onClick={onRequestChanges} aria-pressed={requestingChanges} disabled={approving}>
        Request changes
      </Button>
      {requestingChanges && <p className="text-xs text-zinc-500">Describe what should change in the message box below.</p>}
      {error && (
        <p role="alert" className="w-full text-xs text-red-600">
          {error}
        </p>
      )}
    </div>
  );
}

/** The agents and backend functions of the app's agents.json, presented for approval (T-5). */
export function AgentsCard({
  part,
  active,
  answer,
  requestingChanges,
  approving,
  error,
  onApprove,
  onRequestChanges,
}: ApprovalCardProps & {
  /** The approval request is on its way. */
  approving: boolean;
  error: string | null;
}) {
  const config = readAgents(part.state === "output-available" ? part.output : undefined);
  if (!config) return null;
  const titleId = `agents-${part.toolCallId}`;
  return (
    <section aria-labelledby={titleId} className="overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-card">
      <ApprovalHeader label="Agents" title="Review the app's agents" titleId={titleId} answer={answer}>
        <p className="mt-1.5 text-[13px] leading-relaxed text-zinc-600">
          They read and write the app's data with the tools listed here, and nothing else. Approve them to let them run.
        </p>
      </ApprovalHeader>
      <ul className="space-y-3 px-4 py-3.5 text-[13px]">
        {config.agents.map((a, i) => (
          <li key={a.id || i} className="flex gap-2.5">
            <span className="flex h-6 w-6 shrink-0 items-center justify-center rounded-md bg-zinc-100 text-zinc-600" aria-hidden="true">
              <Icon name="users" className="h-3.5 w-3.5" />
            </span>
            <div className="min-w-0">
              <p className="font-medium text-zinc-900">{a.name}</p>
              {a.description && <p className="text-zinc-600">{a.description}</p>}
              {(a.dataCollections.length > 0 || a.tools.length > 0) && (
                <p className="mt-1 flex flex-wrap gap-1">
                  {a.dataCollections.map((c) => (
                    <Badge key={`data-${c}`} tone="neutral">
                      Data: {c}
                    </Badge>
                  ))}
                  {a.tools.map((t) => (
                    <Badge key={`tool-${t}`} tone="neutral">
                      Tool: {t}
                    </Badge>
                  ))}
                </p>
              )}
            </div>
          </li>
        ))}
        {config.appTools.length > 0 && (
          <li>
            <p className="mb-1 text-xs font-medium text-zinc-500">Backend functions</p>
            <p className="flex flex-wrap gap-1">
              {config.appTools.map((t) => (
                <Badge key={t} tone="neutral">
                  {t}
                </Badge>
              ))}
            </p>
          </li>
        )}
      </ul>
      {active && (
        <ApprovalActions requestingChanges={requestingChanges} onApprove={onApprove} onRequestChanges={onRequestChanges} approving={approving} error={error} />
      )}
    </section>
  );
}

export function SuggestionsCard({
  part,
  active,
  onPick,
}: {
  part: DynamicToolUIPart;
  active: boolean;
  onPick: (s: Suggestion) => void;
}) {
  const items = readSuggestions(part.state === "output-available" ? part.output : undefined, part.input);
  if (!items.length) return null;
  return (
    <section aria-label="Suggestions" className="space-y-2">
      <p className="text-xs font-medium text-zinc-500">{active ? "Pick a next step, or type your own" : "Suggested next steps"}</p>
      <div className="grid gap-2">
        {items.map((s, i) => (
          <button
            key={i}
            type="button"
            disabled={!active}
            onClick={() => onPick(s)}
            className={cx(
              "focus-ring flex items-start gap-3 rounded-lg border border-zinc-200 bg-white px-3 py-2.5 text-left text-[13px] transition",
              active ? "shadow-sm hover:border-accent-300 hover:bg-accent-50/40" : "cursor-default opacity-60",
            )}
          >
            <span className="text-base leading-5" aria-hidden="true">
              {s.emoji}
            </span>
            <span className="min-w-0">
              <span className="block font-medium text-zinc-900">{s.title}</span>
              {s.subtitle && <span className="block text-zinc-500">{s.subtitle}</span>}
            </span>
          </button>
        ))}
      </div>
    </section>
  );
}
