// The agent runtime registry (spec U-1), mirrored from fcgi/api/apps.c's runtime_def and
// workerd's normalization: which runtimes exist, their models (default first), their
// parameters with the options each model supports, and how to install and sign in to each.

export type RuntimeId = "claude-code" | "codex-cli" | "opencode";

export interface ParamOption {
  value: string;
  label: string;
  /** Only these models support the option (all when absent). */
  only?: string[];
  /** Models that do not support the option. */
  except?: string[];
}

export interface ParamControl {
  key: string;
  label: string;
  default: string;
  options: ParamOption[];
}

export interface ModelDef {
  id: string;
  label: string;
  /** The label where the runtime is already named next to it. */
  short?: string;
}

export interface RuntimeDef {
  id: RuntimeId;
  label: string;
  vendor: string;
  defaultModel: string;
  models: ModelDef[];
  /** Any "provider/model" is accepted; `models` are suggestions. */
  freeformModel?: boolean;
  params: ParamControl[];
  install: { command: string; login: string; env?: string };
}

const OPUS_48 = "claude-opus-4-8";
const HAIKU = "claude-haiku-4-5";

export const RUNTIMES: RuntimeDef[] = [
  {
    id: "claude-code",
    label: "Claude Code",
    vendor: "Anthropic",
    defaultModel: OPUS_48,
    models: [
      { id: OPUS_48, label: "Claude Opus 4.8", short: "Opus 4.8" },
      { id: "claude-opus-4-6", label: "Claude Opus 4.6", short: "Opus 4.6" },
      { id: "claude-sonnet-4-6", label: "Claude Sonnet 4.6", short: "Sonnet 4.6" },
      { id: HAIKU, label: "Claude Haiku 4.5", short: "Haiku 4.5" },
    ],
    params: [
      {
        key: "effort",
        label: "Effort",
        default: "xhigh",
        options: [
          { value: "low", label: "Low" },
          { value: "medium", label: "Medium" },
          { value: "high", label: "High" },
          { value: "xhigh", label: "Extra high", only: [OPUS_48] },
          { value: "max", label: "Max", except: [HAIKU] },
        ],
      },
      {
        key: "thinking",
        label: "Thinking",
        default: "adaptive",
        options: [
          { value: "disabled", label: "Off" },
          { value: "enabled", label: "On", only: ["claude-opus-4-6", "claude-sonnet-4-6"] },
          { value: "adaptive", label: "Adaptive", except: [HAIKU] },
        ],
      },
    ],
    install: { command: "npm i -g @anthropic-ai/claude-code", login: "claude login", env: "ANTHROPIC_API_KEY" },
  },
  {
    id: "codex-cli",
    label: "Codex",
    vendor: "OpenAI",
    defaultModel: "gpt-5.5",
    models: [
      { id: "gpt-5.5", label: "GPT-5.5" },
      { id: "gpt-5.4", label: "GPT-5.4" },
      { id: "gpt-5.4-mini", label: "GPT-5.4 mini" },
    ],
    params: [
      {
        key: "reasoningEffort",
        label: "Reasoning",
        default: "high",
        options: [
          { value: "low", label: "Low" },
          { value: "medium", label: "Medium" },
          { value: "high", label: "High" },
          { value: "xhigh", label: "Extra high" },
        ],
      },
      {
        key: "sandbox",
        label: "Sandbox",
        default: "workspace-write",
        options: [
          { value: "workspace-write", label: "Can edit the app" },
          { value: "read-only", label: "Read only" },
        ],
      },
    ],
    install: { command: "npm i -g @openai/codex", login: "codex login", env: "OPENAI_API_KEY" },
  },
  {
    id: "opencode",
    label: "OpenCode",
    vendor: "Any provider",
    defaultModel: "openai/gpt-5.5",
    freeformModel: true,
    models: [
      { id: "openai/gpt-5.5", label: "openai/gpt-5.5" },
      { id: "anthropic/claude-opus-4-8", label: "anthropic/claude-opus-4-8" },
      { id: "anthropic/claude-sonnet-4-6", label: "anthropic/claude-sonnet-4-6" },
    ],
    params: [
      {
        key: "variant",
        label: "Variant",
        default: "auto",
        options: ["auto", "none", "low", "medium", "high", "xhigh", "max"].map((v) => ({
          value: v,
          label: v === "xhigh" ? "Extra high" : v[0].toUpperCase() + v.slice(1),
        })),
      },
    ],
    install: { command: "npm i -g opencode-ai", login: "opencode auth login" },
  },
];

export const DEFAULT_RUNTIME: RuntimeId = "claude-code";

export function runtimeDef(id: string): RuntimeDef {
  return RUNTIMES.find((r) => r.id === id) ?? RUNTIMES[0];
}

/** Claude ids compare without an "anthropic/" prefix or a date suffix (U-2). */
function baseModel(id: string): string {
  return id.replace(/^anthropic\//, "").replace(/-\d{8}$/, "");
}

export function optionSupported(opt: ParamOption, model: string): boolean {
  const m = baseModel(model);
  if (opt.only && !opt.only.includes(m)) return false;
  if (opt.except && opt.except.includes(m)) return false;
  return true;
}

export function supportedOptions(control: ParamControl, model: string): ParamOption[] {
  return control.options.filter((o) => optionSupported(o, model));
}

export interface RuntimeSelection {
  runtimeId: RuntimeId;
  runtimeModel: string;
  runtimeParams: Record<string, string>;
}

/** U-2: unknown models fall back to the default; unsupported values to the control's default
 *  if supported, else "high" for effort, else the first supported option. */
export function normalizeSelection(sel: Partial<Omit<RuntimeSelection, "runtimeId">> & { runtimeId?: string }): RuntimeSelection {
  const def = runtimeDef(sel.runtimeId ?? DEFAULT_RUNTIME);
  let model = (sel.runtimeModel ?? "").trim();
  if (def.freeformModel) {
    if (!/^[^\s/]+\/\S+$/.test(model)) model = def.defaultModel;
  } else if (!def.models.some((m) => m.id === baseModel(model))) {
    model = def.defaultModel;
  } else {
    model = baseModel(model);
  }
  const params: Record<string, string> = {};
  for (const control of def.params) {
    const supported = supportedOptions(control, model);
    const want = sel.runtimeParams?.[control.key];
    const pick =
      supported.find((o) => o.value === want) ??
      supported.find((o) => o.value === control.default) ??
      (control.key === "effort" ? supported.find((o) => o.value === "high") : undefined) ??
      supported[0];
    if (pick) params[control.key] = pick.value;
  }
  return { runtimeId: def.id, runtimeModel: model, runtimeParams: params };
}

export function modelLabel(runtimeId: string, model: string): string {
  return runtimeDef(runtimeId).models.find((m) => m.id === model)?.label ?? model;
}
