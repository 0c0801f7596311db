// Tool parts arrive as `dynamic-tool` parts whose output is whatever the runtime reported: a
// JSON string, an array of {type:"text", text} parts, an MCP result {content:[...]}, or an
// object. These helpers read them the way the server does (P-5: strings, arrays, .text and
// .content, up to 8 levels deep).

const MAX_DEPTH = 8;

/** The first JSON object found inside a tool output, or null. */
export function toolOutputObject(output: unknown, depth = 0): Record<string, unknown> | null {
  if (depth > MAX_DEPTH || output == null) return null;
  if (typeof output === "string") {
    const t = output.trim();
    if (!t.startsWith("{") && !t.startsWith("[") && !t.startsWith('"')) return null;
    try {
      return toolOutputObject(JSON.parse(t), depth + 1);
    } catch {
      return null;
    }
  }
  if (Array.isArray(output)) {
    for (const item of output) {
      const found = toolOutputObject(item, depth + 1);
      if (found) return found;
    }
    return null;
  }
  if (typeof output === "object") {
    const o = output as Record<string, unknown>;
    if ("text" in o && typeof o.type === "string") return toolOutputObject(o.text, depth + 1);
    if ("content" in o && !("status" in o) && !("ok" in o)) return toolOutputObject(o.content, depth + 1);
    return o;
  }
  return null;
}

/** A tool output as display text. */
export function toolOutputText(output: unknown, depth = 0): string {
  if (output == null || depth > MAX_DEPTH) return "";
  if (typeof output === "string") return output;
  if (typeof output === "number" || typeof output === "boolean") return String(output);
  if (Array.isArray(output)) {
    const texts = output.map((o) => toolOutputText(o, depth + 1)).filter(Boolean);
    return texts.join("\n");
  }
  if (typeof output === "object") {
    const o = output as Record<string, unknown>;
    if (typeof o.text === "string" && typeof o.type === "string") return o.text;
    if (Array.isArray(o.content)) return toolOutputText(o.content, depth + 1);
    if (typeof o.output === "string") return o.output;
    try {
      return JSON.stringify(o, null, 2);
    } catch {
      return "";
    }
  }
  return "";
}

/** "mcp__second__present_plan", "second_present_plan" and "present_plan" all name one tool. */
export function toolBaseName(toolName: string): string {
  const parts = toolName.split("__");
  let name = parts[parts.length - 1];
  name = name.replace(/^second_/, "");
  return name;
}

export function isPlatformTool(toolName: string, name: string): boolean {
  return toolBaseName(toolName) === name;
}

export interface PlanFeature {
  name: string;
  description: string;
  emoji?: string;
}

export interface Plan {
  title: string;
  overview: string;
  features: PlanFeature[];
  dataFlow: string;
  agents: string | null;
  backend: string | null;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The plan of a present_plan part: from its output (T-2), else from its input. */
export function readPlan(output: unknown, input: unknown): Plan | null {
  const o = toolOutputObject(output) ?? (input && typeof input === "object" ? (input as Record<string, unknown>) : null);
  if (!o) return null;
  const features = Array.isArray(o.features)
    ? o.features
        .filter((f): f is Record<string, unknown> => !!f && typeof f === "object")
        .map((f) => ({ name: str(f.name), description: str(f.description), emoji: str(f.emoji) || undefined }))
        .filter((f) => f.name || f.description)
    : [];
  return {
    title: str(o.title),
    overview: str(o.overview),
    features,
    dataFlow: str(o.dataFlow),
    agents: typeof o.agents === "string" && o.agents ? o.agents : null,
    backend: typeof o.backend === "string" && o.backend ? o.backend : null,
  };
}

export interface Suggestion {
  emoji: string;
  title: string;
  subtitle: string;
}

export function readSuggestions(output: unknown, input: unknown): Suggestion[] {
  const o = toolOutputObject(output) ?? (input && typeof input === "object" ? (input as Record<string, unknown>) : null);
  const list = o && Array.isArray(o.suggestions) ? o.suggestions : [];
  return list
    .filter((s): s is Record<string, unknown> => !!s && typeof s === "object")
    .map((s) => ({ emoji: str(s.emoji) || "✨", title: str(s.title).trim(), subtitle: str(s.subtitle).trim() }))
    .filter((s) => s.title)
    .slice(0, 6);
}

export interface AgentSummary {
  id: string;
  name: string;
  description: string;
  tools: string[];
  dataCollections: string[];
}

export interface AgentsConfig {
  agents: AgentSummary[];
  /** The backend functions the app's pages call (appTools), by display name. */
  appTools: string[];
  message: string;
}

function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((t) => (typeof t === "string" ? t : t && typeof t === "object" ? str((t as Record<string, unknown>).displayName) || str((t as Record<string, unknown>).name) : ""))
    .filter(Boolean);
}

/** The agents a present_agents part presented (T-5), or null unless it presented them
 *  (`ok: true, status: "presented"`): a refused agents.json is an ordinary tool result. */
export function readAgents(output: unknown): AgentsConfig | null {
  const o = toolOutputObject(output);
  if (!o || o.ok !== true || o.status !== "presented") return null;
  const agents = Array.isArray(o.agents)
    ? o.agents
        .filter((a): a is Record<string, unknown> => !!a && typeof a === "object")
        .map((a) => ({
          id: str(a.id),
          name: str(a.name) || str(a.id),
          description: str(a.description),
          tools: names(a.tools),
          dataCollections: Array.isArray(a.dataCollections) ? a.dataCollections.filter((c): c is string => typeof c === "string") : [],
        }))
    : [];
  return { agents, appTools: names(o.appTools), message: str(o.message) };
}

/** done_building succeeded when its output parses to {status: "complete"} (P-5). */
export function buildResult(output: unknown): { complete: boolean; summary: string; text: string } {
  const o = toolOutputObject(output);
  if (o && o.status === "complete") return { complete: true, summary: str(o.summary), text: "" };
  return { complete: false, summary: "", text: toolOutputText(output) };
}
