import { useId } from "react";
import type { DetectProvider, RuntimeProbe } from "../lib/types";
import { normalizeSelection, RUNTIMES, runtimeDef, supportedOptions, type RuntimeSelection } from "../lib/runtimes";
import { cx, Icon, Spinner } from "./ui";

const compact =
  "select h-8 w-auto rounded-md border-zinc-200 bg-zinc-50 py-0 pl-2.5 text-[13px] font-medium text-zinc-700 shadow-none hover:bg-white";

export function probeOf(detect: DetectProvider | undefined, id: string): RuntimeProbe | undefined {
  return detect?.runtimes?.[id];
}

export function RuntimePicker({
  value,
  onChange,
  detect,
  disabled,
}: {
  value: RuntimeSelection;
  onChange: (v: RuntimeSelection) => void;
  detect?: DetectProvider;
  disabled?: boolean;
}) {
  const id = useId();
  const def = runtimeDef(value.runtimeId);
  const set = (patch: Partial<RuntimeSelection>) =>
    onChange(normalizeSelection({ ...value, ...patch, runtimeParams: { ...value.runtimeParams, ...patch.runtimeParams } }));

  return (
    <div className="flex flex-wrap items-center gap-1.5" role="group" aria-label="Build options">
      <label htmlFor={`${id}-rt`} className="sr-only">
        Agent
      </label>
      <select
        id={`${id}-rt`}
        className={compact}
        value={value.runtimeId}
        disabled={disabled}
        onChange={(e) => onChange(normalizeSelection({ runtimeId: e.target.value }))}
      >
        {RUNTIMES.map((r) => {
          const probe = probeOf(detect, r.id);
          const suffix = probe && !probe.available ? " (not installed)" : "";
          return (
            <option key={r.id} value={r.id}>
              {r.label}
              {suffix}
            </option>
          );
        })}
      </select>
      <label htmlFor={`${id}-model`} className="sr-only">
        Model
      </label>
      {def.freeformModel ? (
        <>
          <input
            id={`${id}-model`}
            className={cx(compact, "field w-52 bg-none pr-2.5")}
            list={`${id}-models`}
            value={value.runtimeModel}
            disabled={disabled}
            spellCheck={false}
            placeholder="provider/model"
            onChange={(e) => onChange({ ...value, runtimeModel: e.target.value })}
            onBlur={() => set({})}
          />
          <datalist id={`${id}-models`}>
            {def.models.map((m) => (
              <option key={m.id} value={m.id} />
            ))}
          </datalist>
        </>
      ) : (
        <select
          id={`${id}-model`}
          className={compact}
          value={value.runtimeModel}
          disabled={disabled}
          onChange={(e) => set({ runtimeModel: e.target.value })}
        >
          {def.models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.short ?? m.label}
            </option>
          ))}
        </select>
      )}
      {def.params.map((control) => (
        <span key={control.key} className="contents">
          <label htmlFor={`${id}-${control.key}`} className="sr-only">
            {control.label}
          </label>
          <select
            id={`${id}-${control.key}`}
            className={compact}
            value={value.runtimeParams[control.key] ?? control.default}
            disabled={disabled}
            title={control.label}
            onChange={(e) => set({ runtimeParams: { [control.key]: e.target.value } })}
          >
            {supportedOptions(control, value.runtimeModel).map((o) => (
              <option key={o.value} value={o.value}>
                {control.label}: {o.label}
              </option>
            ))}
          </select>
        </span>
      ))}
    </div>
  );
}

function Command({ children }: { children: string }) {
  return (
    <code className="block select-all whitespace-pre-wrap rounded-md bg-zinc-900 px-2.5 py-1.5 font-mono text-[12px] text-zinc-100">
      {children}
    </code>
  );
}

export function InstallSteps({ runtimeId }: { runtimeId: string }) {
  const def = runtimeDef(runtimeId);
  return (
    <div className="space-y-1.5">
      <p className="text-[13px] font-medium text-zinc-800">
        {def.label} <span className="font-normal text-zinc-500">· {def.vendor}</span>
      </p>
      <Command>{def.install.command}</Command>
      <Command>{def.install.login}</Command>
      {def.install.env && (
        <p className="text-xs text-zinc-500">
          or set <code className="font-mono text-zinc-700">{def.install.env}</code> in the worker's environment
        </p>
      )}
    </div>
  );
}

/** One line under the composer about the chosen runtime, or how to install one. */
export function RuntimeStatus({
  selection,
  detect,
  loading,
  failed,
}: {
  selection: RuntimeSelection;
  detect?: DetectProvider;
  loading: boolean;
  failed: boolean;
}) {
  const def = runtimeDef(selection.runtimeId);
  if (loading)
    return (
      <p className="flex items-center gap-2 text-xs text-zinc-500" role="status">
        <Spinner className="h-3 w-3" /> Checking which agents are installed…
      </p>
    );
  if (failed || !detect)
    return <p className="text-xs text-zinc-500">Couldn't check which agents are installed on this server.</p>;
  if (detect.workerReachable === false)
    return (
      <p className="flex items-center gap-1.5 text-xs text-amber-700" role="status">
        <Icon name="alert" className="h-3.5 w-3.5" /> The agent worker isn't reachable, so apps can't be built right now.
      </p>
    );
  const probe = probeOf(detect, def.id);
  const anyAvailable = RUNTIMES.some((r) => probeOf(detect, r.id)?.available);
  if (!anyAvailable)
    return (
      <div className="rounded-lg border border-amber-200 bg-amber-50/60 p-4" role="status">
        <p className="text-sm font-medium text-amber-900">No coding agent is installed yet</p>
        <p className="mt-1 text-[13px] text-amber-900/80">
          Second builds apps with an agent CLI running next to the worker. Install one of these, sign in, then reload this page.
        </p>
        <div className="mt-3 grid gap-4 sm:grid-cols-3">
          {RUNTIMES.map((r) => (
            <InstallSteps key={r.id} runtimeId={r.id} />
          ))}
        </div>
      </div>
    );
  if (probe && !probe.available)
    return (
      <div className="rounded-lg border border-amber-200 bg-amber-50/60 p-4" role="status">
        <p className="text-sm font-medium text-amber-900">{def.label} isn't installed on this server</p>
        <p className="mt-1 text-[13px] text-amber-900/80">Pick another agent above, or install it and sign in:</p>
        <div className="mt-3 max-w-sm">
          <InstallSteps runtimeId={def.id} />
        </div>
      </div>
    );
  const signedIn = probe?.auth?.envKeyConfigured || probe?.auth?.cliLikelyConfigured;
  return (
    <p className="flex items-center gap-1.5 text-xs text-zinc-500" role="status">
      <span className="h-1.5 w-1.5 rounded-full bg-emerald-500" aria-hidden="true" />
      {def.label}
      {probe?.version ? ` ${probe.version.replace(/^v/, "").split(" ")[0]}` : ""} is ready
      {probe && !signedIn && (
        <span className="text-zinc-400">
          {" "}
          · no sign-in found; run <code className="font-mono">{def.install.login}</code> if it asks
        </span>
      )}
    </p>
  );
}
