import type { DynamicToolUIPart, ReasoningUIPart, UIMessage } from "ai";
import { useState } from "react";
import { Markdown } from "../../lib/markdown";
import { isPlatformTool, readAgents, type Suggestion } from "../../lib/tool-output";
import { cx, Icon, Spinner } from "../ui";
import { AgentsCard, PlanCard, SuggestionsCard, type PlanAnswer } from "./Cards";
import { BuildCard, ToolCard } from "./ToolCard";

export const APPROVE_TEXT = "Approved. Go ahead and build it.";
export const APPROVE_AGENTS_TEXT = "Approved the agents. Go ahead.";

export function messageText(m: UIMessage): string {
  return m.parts
    .filter((p): p is { type: "text"; text: string } => p.type === "text")
    .map((p) => p.text)
    .join("\n")
    .trim();
}

function Reasoning({ part, live }: { part: ReasoningUIPart; live: boolean }) {
  const [open, setOpen] = useState(false);
  const text = part.text.replace(/(^|\n)Thinking\.\.\.\s*/g, "$1").trim();
  const streaming = live && part.state === "streaming";
  return (
    <div className="text-[13px]">
      <button
        type="button"
        onClick={() => setOpen((o) => !o)}
        disabled={!text}
        aria-expanded={text ? open : undefined}
        className="focus-ring -ml-1 inline-flex items-center gap-1.5 rounded px-1 py-0.5 text-zinc-500 hover:text-zinc-800 disabled:cursor-default disabled:hover:text-zinc-500"
      >
        {streaming ? <Spinner className="h-3.5 w-3.5" /> : <Icon name="brain" className="h-3.5 w-3.5" />}
        <span className={cx(streaming && "animate-pulse")}>{streaming ? "Thinking…" : "Thought process"}</span>
        {text && <Icon name="chevronRight" className={cx("h-3 w-3 transition-transform", open && "rotate-90")} />}
      </button>
      {open && text && (
        <div className="mt-1 whitespace-pre-wrap border-l-2 border-zinc-200 pl-3 text-zinc-500">{text}</div>
      )}
    </div>
  );
}

export interface MessageActions {
  /** The toolCallId of the plan or agents card that waits for an answer, when the chat is idle. */
  activePlanId: string | null;
  /** The agents approval is being recorded, or failed with this message. */
  approvingAgents: boolean;
  approveError: string | null;
  onApproveAgents: () => void;
  /** The toolCallId of the suggestions the user can pick from. */
  activeSuggestionsId: string | null;
  requestingChanges: boolean;
  onApprove: () => void;
  onRequestChanges: () => void;
  onSuggestion: (s: Suggestion) => void;
}

function planAnswer(messages: UIMessage[], index: number): PlanAnswer {
  const next = messages.slice(index + 1).find((m) => m.role === "user");
  if (!next) return null;
  return messageText(next).startsWith("Approved") ? "approved" : "changes";
}

function AssistantParts({
  message,
  live,
  answer,
  actions,
}: {
  message: UIMessage;
  live: boolean;
  answer: PlanAnswer;
  actions: MessageActions;
}) {
  // Keys never name the message id: the client makes one up for a streamed answer and the
  // server stores the answer under its own, and a changed key would remount the plan card and
  // drop the focus from its buttons when the stored conversation replaces the streamed one.
  const blocks = message.parts.map((part, i) => {
    const key = part.type === "dynamic-tool" ? `tool-${(part as DynamicToolUIPart).toolCallId}` : `part-${i}`;
    if (part.type === "text") {
      if (!part.text.trim()) return null;
      return (
        <div key={key} className="text-[14px] leading-relaxed text-zinc-800">
          <Markdown text={part.text} />
        </div>
      );
    }
    if (part.type === "reasoning") return <Reasoning key={key} part={part} live={live} />;
    if (part.type === "dynamic-tool") {
      const tool = part as DynamicToolUIPart;
      const card = {
        part: tool,
        active: actions.activePlanId === tool.toolCallId,
        answer,
        requestingChanges: actions.requestingChanges,
        onRequestChanges: actions.onRequestChanges,
      };
      if (isPlatformTool(tool.toolName, "present_plan")) return <PlanCard key={key} {...card} onApprove={actions.onApprove} />;
      if (isPlatformTool(tool.toolName, "present_agents") && tool.state === "output-available" && readAgents(tool.output))
        return (
          <AgentsCard
            key={key}
            {...card}
            approving={actions.approvingAgents}
            error={actions.approveError}
            onApprove={actions.onApproveAgents}
          />
        );
      if (isPlatformTool(tool.toolName, "present_suggestions") && tool.state === "output-available")
        return (
          <SuggestionsCard
            key={key}
            part={tool}
            active={actions.activeSuggestionsId === tool.toolCallId}
            onPick={actions.onSuggestion}
          />
        );
      if (isPlatformTool(tool.toolName, "done_building")) return <BuildCard key={key} part={tool} live={live} />;
      return <ToolCard key={key} part={tool} live={live} />;
    }
    return null;
  });
  return <div className="space-y-2.5">{blocks}</div>;
}

export function MessageList({
  messages,
  status,
  actions,
}: {
  messages: UIMessage[];
  status: "submitted" | "streaming" | "ready" | "error";
  actions: MessageActions;
}) {
  const busy = status === "submitted" || status === "streaming";
  const last = messages[messages.length - 1];
  return (
    <ol className="space-y-6" aria-label="Conversation">
      {messages.map((m, i) => {
        if (m.role === "user") {
          const text = messageText(m);
          if (!text) return null;
          return (
            <li key={`message-${i}`} className="flex justify-end">
              <div className="max-w-[85%] whitespace-pre-wrap break-words rounded-2xl rounded-br-md bg-zinc-900 px-3.5 py-2 text-[14px] leading-relaxed text-white">
                <span className="sr-only">You: </span>
                {text}
              </div>
            </li>
          );
        }
        if (m.role !== "assistant") return null;
        const live = busy && m === last;
        return (
          <li key={`message-${i}`} className="animate-fade-in">
            <span className="sr-only">Agent:</span>
            <AssistantParts message={m} live={live} answer={planAnswer(messages, i)} actions={actions} />
          </li>
        );
      })}
      {busy && (status === "submitted" || last?.role !== "assistant") && (
        <li className="flex items-center gap-2 text-[13px] text-zinc-500" role="status">
          <span className="flex gap-1" aria-hidden="true">
            <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-zinc-400 [animation-delay:-0.2s]" />
            <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-zinc-400 [animation-delay:-0.1s]" />
            <span className="h-1.5 w-1.5 animate-bounce rounded-full bg-zinc-400" />
          </span>
          The agent is starting…
        </li>
      )}
    </ol>
  );
}
