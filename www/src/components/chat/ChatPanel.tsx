// The builder chat of one run: the AI SDK's useChat over second-sse's routes.
//   POST .../runs/:runId/chat          sends (the AI SDK chat request body, B-2)
//   GET  .../runs/:runId/chat/stream   re-attaches to a turn in progress (B-14; 204: nothing)
//   POST .../runs/:runId/chat/stop     stops the turn (B-16)
//   GET  .../runs/:runId/events        tells other tabs a turn started or ended (B-17)
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport, type DynamicToolUIPart, type UIMessage } from "ai";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, errorMessage, runPath } from "../../lib/api";
import { useInterval } from "../../lib/hooks";
import { takePendingPrompt } from "../../lib/pending";
import { buildResult, isPlatformTool, readAgents, type Suggestion } from "../../lib/tool-output";
import type { ChatSnapshot, RunFailure, RunStatus } from "../../lib/types";
import { Alert, Button, EmptyState, Icon } from "../ui";
import { Composer } from "./Composer";
import { APPROVE_AGENTS_TEXT, APPROVE_TEXT, MessageList } from "./Messages";

export interface ChatActivity {
  busy: boolean;
  needsInput: boolean;
  failed: boolean;
}

function completedBuilds(messages: UIMessage[]): string[] {
  const ids: string[] = [];
  for (const m of messages)
    for (const p of m.parts)
      if (p.type === "dynamic-tool" && isPlatformTool(p.toolName, "done_building") && p.state === "output-available" && !p.preliminary && buildResult(p.output).complete)
        ids.push(p.toolCallId);
  return ids;
}

/** A transport error's text: the server's JSON {error, message} or the stream's errorText. */
function chatErrorText(err: Error): string {
  try {
    const d = JSON.parse(err.message) as { message?: string; error?: string };
    if (d && typeof d === "object" && (d.message || d.error)) return d.message || d.error || err.message;
  } catch {
    /* not JSON: an error chunk's text */
  }
  if (err instanceof TypeError) return "The connection to Second was lost.";
  return err.message || "Something went wrong.";
}

function lastTool(message: UIMessage | undefined, name: string): DynamicToolUIPart | null {
  if (!message || message.role !== "assistant") return null;
  for (let i = message.parts.length - 1; i >= 0; i--) {
    const p = message.parts[i];
    if (p.type === "dynamic-tool" && isPlatformTool(p.toolName, name)) return p;
  }
  return null;
}

/** The newest completed card of the message that waits for an answer: a plan, or agents that
 *  were presented (a refused agents.json asks for nothing). */
function lastApproval(message: UIMessage | undefined): { part: DynamicToolUIPart; kind: "plan" | "agents" } | null {
  if (!message || message.role !== "assistant") return null;
  for (let i = message.parts.length - 1; i >= 0; i--) {
    const p = message.parts[i];
    if (p.type !== "dynamic-tool" || p.state !== "output-available") continue;
    if (isPlatformTool(p.toolName, "present_plan")) return { part: p, kind: "plan" };
    if (isPlatformTool(p.toolName, "present_agents") && readAgents(p.output)) return { part: p, kind: "agents" };
  }
  return null;
}

export function ChatPanel({
  ws,
  appId,
  runId,
  initial,
  readOnly,
  onBuilt,
  onActivity,
}: {
  ws: string;
  appId: string;
  runId: string;
  initial: ChatSnapshot;
  readOnly?: boolean;
  onBuilt: () => void;
  onActivity: (a: ChatActivity) => void;
}) {
  const chatUrl = `${runPath(ws, appId, runId)}/chat`;
  const transport = useMemo(
    () =>
      new DefaultChatTransport<UIMessage>({
        api: chatUrl,
        credentials: "same-origin",
        prepareSendMessagesRequest: ({ id, messages, trigger, messageId }) => {
          const body: Record<string, unknown> = { id, messages, trigger };
          if (messageId) body.messageId = messageId;
          // "Try again" re-sends the latest user message under its own id (B-15).
          if (trigger === "regenerate-message") {
            const lastUser = [...messages].reverse().find((m) => m.role === "user");
            if (lastUser) body.retryLastMessageId = lastUser.id;
          }
          return { api: chatUrl, body };
        },
        prepareReconnectToStreamRequest: () => ({ api: `${chatUrl}/stream` }),
      }),
    [chatUrl],
  );

  // Re-attach on load only while a turn runs: the replay of a finished turn is still kept for
  // a while, and attaching to it would show the last answer twice.
  const chat = useChat({
    id: runId,
    messages: initial.messages ?? [],
    transport,
    resume: initial.status === "streaming",
    experimental_throttle: 40,
  });
  const { messages, status, error, sendMessage, regenerate, stop, setMessages, resumeStream } = chat;

  const [draft, setDraft] = useState("");
  const [failure, setFailure] = useState<RunFailure | null>(initial.status === "failed" ? initial.failure : null);
  const [serverStatus, setServerStatus] = useState<RunStatus>(initial.status);
  const [requestingChanges, setRequestingChanges] = useState(false);
  const [approvingAgents, setApprovingAgents] = useState(false);
  const [approveError, setApproveError] = useState<string | null>(null);
  const [focusRequest, setFocusRequest] = useState(0);
  const busy = status === "submitted" || status === "streaming";

  const statusRef = useRef(status);
  statusRef.current = status;
  const messagesRef = useRef(messages);
  messagesRef.current = messages;
  const lastResume = useRef(0);
  const buildPending = useRef(false);

  // The prompt typed on the workspace home is this run's first message.
  const started = useRef(false);
  useEffect(() => {
    if (started.current || readOnly) return;
    started.current = true;
    if ((initial.messages?.length ?? 0) > 0 || initial.status !== "pending") return;
    const prompt = takePendingPrompt(runId);
    if (prompt) void sendMessage({ text: prompt });
  }, [initial, runId, sendMessage, readOnly]);

  // What the server knows, for turns this tab did not send (another tab, or a reload that found
  // nothing to attach to yet). Only an idle chat is touched.
  const sync = useCallback(async () => {
    let snap: ChatSnapshot;
    try {
      snap = await api.chat(ws, appId, runId);
    } catch {
      return;
    }
    setServerStatus(snap.status);
    if (statusRef.current === "submitted" || statusRef.current === "streaming") return;
    const serverMessages = snap.messages ?? [];
    if (snap.status === "streaming") {
      // A turn runs that this tab is not showing: take its messages, then attach (not more
      // often than every 1.5 s, B-14). A tab that just finished its own turn has more
      // messages than were stored at the claim, and waits for the final ones instead.
      if (serverMessages.length < messagesRef.current.length) return;
      setMessages(serverMessages);
      if (Date.now() - lastResume.current >= 1500) {
        lastResume.current = Date.now();
        void resumeStream();
      }
      return;
    }
    // A stopped turn's partial answer is not stored (B-16): a tab that shows more than the
    // server keeps it on screen; "Try again" re-sends the user message either way.
    if (serverMessages.length >= messagesRef.current.length) setMessages(serverMessages);
    setFailure(snap.status === "failed" ? snap.failure : null);
    // second-sse saves the draft snapshot the preview serves after the turn's stream ends, and
    // only then marks the run finished: that is when a new build can be shown.
    if (buildPending.current) {
      buildPending.current = false;
      onBuilt();
    }
  }, [ws, appId, runId, setMessages, resumeStream, onBuilt]);

  useInterval(() => void sync(), 2000, serverStatus === "streaming" && !busy);

  useEffect(() => {
    if (readOnly || typeof EventSource === "undefined") return;
    const es = new EventSource(`${runPath(ws, appId, runId)}/events`);
    es.onmessage = () => void sync();
    return () => es.close();
  }, [ws, appId, runId, sync, readOnly]);

  // A successful done_building refreshes the preview, once per build, when its run is done.
  const seenBuilds = useRef<Set<string> | null>(null);
  useEffect(() => {
    const ids = completedBuilds(messages);
    if (seenBuilds.current === null) {
      seenBuilds.current = new Set(ids);
      return;
    }
    for (const id of ids)
      if (!seenBuilds.current.has(id)) {
        seenBuilds.current.add(id);
        buildPending.current = true;
      }
  }, [messages]);
  useEffect(() => {
    if (!busy && buildPending.current) void sync();
  }, [busy, sync]);

  const last = messages[messages.length - 1];
  const approval = lastApproval(last);
  const planPending = !!approval && !busy;
  const suggestions = lastTool(last, "present_suggestions");
  const stopped = failure?.code === "user_stopped" || failure?.code === "worker_cancel_failed";
  const errorText = status === "error" && error ? chatErrorText(error) : !busy && failure ? failure.message : null;

  useEffect(() => {
    onActivity({ busy, needsInput: planPending, failed: !!errorText && !stopped });
  }, [busy, planPending, errorText, stopped, onActivity]);

  useEffect(() => {
    if (!planPending) {
      setRequestingChanges(false);
      setApproveError(null);
    }
  }, [planPending]);

  const send = (text: string) => {
    const t = text.trim();
    if (!t) return;
    setFailure(null);
    setRequestingChanges(false);
    void sendMessage({ text: t });
  };

  // The agents run only once their agents.json is approved: the approval is recorded first,
  // and the builder goes on only when it was.
  const approveAgents = async () => {
    setFocusRequest((n) => n + 1);
    setApproveError(null);
    setApprovingAgents(true);
    try {
      await api.approveAgents(ws, appId);
      send(APPROVE_AGENTS_TEXT);
    } catch (err) {
      setApproveError(`The agents were not approved: ${errorMessage(err)}`);
    } finally {
      setApprovingAgents(false);
    }
  };

  const onStop = async () => {
    setFocusRequest((n) => n + 1);
    await stop();
    try {
      const r = await api.stopChat(ws, appId, runId);
      setServerStatus(r.status);
      if (r.failure) setFailure(r.failure);
    } catch {
      /* the turn may already have ended */
    }
  };

  const retry = () => {
    setFailure(null);
    void regenerate();
  };

  // Keep the newest message, and the notice of a stopped or failed turn under it, in view while
  // the user is at the bottom.
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [messages, status, errorText]);

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 120;
        }}
        className="min-h-0 flex-1 overflow-y-auto px-4 py-5 scrollbar-thin"
      >
        {messages.length === 0 && !busy ? (
          <EmptyState className="h-full" icon={<Icon name="sparkles" className="h-5 w-5" />} title="Start the conversation">
            Tell the agent what this app should do. It proposes a plan first, then builds it.
          </EmptyState>
        ) : (
          <MessageList
            messages={messages}
            status={status}
            actions={{
              activePlanId: planPending && approval ? approval.part.toolCallId : null,
              approvingAgents,
              approveError,
              onApproveAgents: () => void approveAgents(),
              activeSuggestionsId: !busy && !planPending && suggestions?.state === "output-available" ? suggestions.toolCallId : null,
              requestingChanges,
              onApprove: () => {
                setFocusRequest((n) => n + 1);
                send(APPROVE_TEXT);
              },
              onRequestChanges: () => setRequestingChanges(true),
              onSuggestion: (s: Suggestion) => send(s.subtitle ? `${s.title}: ${s.subtitle}` : s.title),
            }}
          />
        )}
        {errorText && (
          <Alert
            tone={stopped ? "info" : "error"}
            className="mt-5"
            title={stopped ? "Stopped" : "The agent ran into a problem"}
            action={
              <Button size="sm" onClick={retry}>
                <Icon name="refresh" className="h-3.5 w-3.5" />
                Try again
              </Button>
            }
          >
            {errorText}
          </Alert>
        )}
      </div>
      <Composer
        value={draft}
        onChange={setDraft}
        onSend={() => {
          send(draft);
          setDraft("");
        }}
        onStop={() => void onStop()}
        busy={busy}
        canStop={status === "streaming"}
        blocked={planPending}
        blockedBy={approval?.kind}
        requestingChanges={requestingChanges}
        onCancelChanges={() => setRequestingChanges(false)}
        disabled={readOnly}
        focusRequest={focusRequest}
      />
    </div>
  );
}
