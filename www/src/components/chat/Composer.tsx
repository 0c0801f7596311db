import { useEffect, useId, useRef, type FormEvent, type KeyboardEvent } from "react";
import { Button, cx, Icon } from "../ui";

export function Composer({
  value,
  onChange,
  onSend,
  onStop,
  busy,
  canStop,
  blocked,
  blockedBy = "plan",
  requestingChanges,
  onCancelChanges,
  disabled,
  focusRequest = 0,
}: {
  value: string;
  onChange: (v: string) => void;
  onSend: () => void;
  onStop: () => void;
  busy: boolean;
  canStop: boolean;
  /** A plan (or the agents) waits for Approve or Request changes. */
  blocked: boolean;
  blockedBy?: "plan" | "agents";
  requestingChanges: boolean;
  onCancelChanges: () => void;
  disabled?: boolean;
  /** Bumped when the control the user pressed goes away (Approve, Stop): focus comes here. */
  focusRequest?: number;
}) {
  const id = useId();
  const ref = useRef<HTMLTextAreaElement>(null);
  const locked = disabled || (blocked && !requestingChanges);

  useEffect(() => {
    if (requestingChanges) ref.current?.focus();
  }, [requestingChanges]);

  // The box may still be locked when the request comes (the plan's answer is on its way).
  const focused = useRef(0);
  useEffect(() => {
    if (focusRequest > focused.current && !locked) {
      focused.current = focusRequest;
      ref.current?.focus();
    }
  }, [focusRequest, locked]);

  // Grow with the text, up to a limit.
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 220)}px`;
  }, [value]);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (busy || locked || !value.trim()) return;
    onSend();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const placeholder = disabled
    ? "You can view this app, but only its builders can chat with the agent."
    : locked
      ? `Approve the ${blockedBy} or request changes to continue.`
      : requestingChanges
        ? `What should change in the ${blockedBy}?`
        : busy
          ? "The agent is working…"
          : "Ask for a change or a new feature…";

  return (
    <form onSubmit={submit} className="border-t border-zinc-200 bg-white p-3">
      {requestingChanges && (
        <div className="mb-2 flex items-center justify-between rounded-md bg-amber-50 px-2.5 py-1.5 text-xs text-amber-900">
          <span>Requesting changes to the plan</span>
          <button type="button" onClick={onCancelChanges} className="focus-ring rounded font-medium hover:underline">
            Cancel
          </button>
        </div>
      )}
      <div
        className={cx(
          "flex items-end gap-2 rounded-xl border bg-white px-3 py-2 shadow-sm transition",
          locked ? "border-zinc-200 bg-zinc-50" : "border-zinc-300 focus-within:border-accent-400 focus-within:ring-4 focus-within:ring-accent-500/10",
        )}
      >
        <label htmlFor={id} className="sr-only">
          Message
        </label>
        <textarea
          id={id}
          ref={ref}
          rows={1}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          disabled={locked}
          placeholder={placeholder}
          className="max-h-[220px] min-h-[24px] flex-1 resize-none border-0 bg-transparent py-1 text-[14px] leading-6 text-zinc-900 placeholder:text-zinc-400 focus:outline-none focus:ring-0 disabled:cursor-not-allowed"
        />
        {busy ? (
          <Button
            variant="secondary"
            size="sm"
            onClick={onStop}
            disabled={!canStop}
            aria-label="Stop"
            title="Stop the agent"
            className="h-8 w-8 rounded-full px-0"
          >
            <Icon name="stop" className="h-3.5 w-3.5" />
          </Button>
        ) : (
          <Button
            type="submit"
            variant="primary"
            size="sm"
            disabled={locked || !value.trim()}
            aria-label="Send"
            title="Send (Enter)"
            className="h-8 w-8 rounded-full px-0"
          >
            <Icon name="arrowUp" className="h-4 w-4" />
          </Button>
        )}
      </div>
    </form>
  );
}
