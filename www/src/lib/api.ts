// The one way the UI talks to second-api: same-origin JSON under /api/, the session in the
// HttpOnly `second_session` cookie, errors as {error, message}.
import type {
  App,
  AuthSession,
  AppFiles,
  AppRuntimeSettings,
  ChatSnapshot,
  DetectProvider,
  Invitation,
  InvitationsReply,
  Member,
  MembersReply,
  Role,
  RunSummary,
  StopReply,
  Team,
  TeamsReply,
  User,
  Workspace,
  WorkspaceListItem,
} from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** Messages people can act on, for the codes where the server's own text is too terse. */
const friendly: Record<string, string> = {
  invalid_identity: "Check your name, role and email, then try again.",
  invalid_workspace: "A workspace name needs 2 to 80 characters.",
  invalid_workspace_name: "A workspace name needs 2 to 80 characters.",
  invalid_app_name: "An app name needs 2 to 80 characters.",
  invalid_team_name: "A team name needs 1 to 80 characters.",
  team_name_unavailable: "A team with that name already exists.",
  invalid_email: "Enter a valid email address.",
  workspace_member_already_exists: "That person is already a member of this workspace.",
  workspace_invitation_already_pending: "An invitation to that address is already pending.",
  cannot_change_own_role: "You can't change your own role.",
  cannot_remove_self: "You can't remove yourself from the workspace.",
  workspace_must_have_owner: "A workspace needs at least one owner.",
  workspace_owner_management_forbidden: "Only an owner can change another owner.",
  workspace_owner_invite_forbidden: "Only an owner can invite another owner.",
  unavailable: "A service Second depends on is unavailable. Try again in a moment.",
};

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return friendly[err.code] ?? sentence(err.message);
  if (err instanceof TypeError) return "Second can't be reached. Check your connection and try again.";
  if (err instanceof Error && err.message) return sentence(err.message);
  return "Something went wrong.";
}

function statusText(status: number): string {
  if (status === 401) return "Sign in to continue";
  if (status === 403) return "You don't have access to this";
  if (status === 404) return "Not found";
  if (status >= 500) return "The server ran into a problem";
  return `Request failed (${status})`;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  let data: unknown = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const d = (data ?? {}) as { error?: unknown; message?: unknown };
    const code = typeof d.error === "string" ? d.error : `http_${res.status}`;
    const message = typeof d.message === "string" && d.message ? d.message : statusText(res.status);
    throw new ApiError(res.status, code, message);
  }
  return data as T;
}

const seg = encodeURIComponent;
const wsPath = (ws: string) => `/api/workspaces/${seg(ws)}`;
const appPath = (ws: string, appId: string) => `${wsPath(ws)}/apps/${seg(appId)}`;
export const runPath = (ws: string, appId: string, runId: string) =>
  `${appPath(ws, appId)}/runs/${seg(runId)}`;

export const api = {
  session: () => request<AuthSession>("GET", "/api/auth/session"),
  signIn: (input: { displayName: string; profileRole: string; email?: string }) =>
    request<{ user: User; next: string }>("POST", "/api/onboarding/identity", input),
  createFirstWorkspace: (workspaceName: string) =>
    request<{ workspace: Workspace; next: string }>("POST", "/api/onboarding/workspace", { workspaceName }),
  completeOnboarding: () => request<{ ok: boolean }>("POST", "/api/onboarding/complete", {}),
  signOut: () => request<{ ok: boolean }>("POST", "/api/auth/logout", {}),

  workspaces: () => request<{ workspaces: WorkspaceListItem[] }>("GET", "/api/workspaces"),
  createWorkspace: (name: string) => request<{ workspace: Workspace }>("POST", "/api/workspaces", { name }),
  workspace: (ws: string) => request<{ workspace: Workspace; role: Role }>("GET", wsPath(ws)),
  renameWorkspace: (ws: string, name: string) =>
    request<{ workspace: Workspace }>("PATCH", wsPath(ws), { name }),
  runtimeSettings: (ws: string) =>
    request<{ canManage: boolean; settings: AppRuntimeSettings }>("GET", `${wsPath(ws)}/runtime-settings`),
  patchRuntimeSettings: (ws: string, patch: Partial<AppRuntimeSettings>) =>
    request<{ canManage: boolean; settings: AppRuntimeSettings }>("PATCH", `${wsPath(ws)}/runtime-settings`, patch),
  detectProvider: () => request<DetectProvider>("GET", "/api/setup/detect-provider"),

  members: (ws: string) => request<MembersReply>("GET", `${wsPath(ws)}/members`),
  setMemberRole: (ws: string, userId: string, role: Role) =>
    request<{ ok: boolean; member: Pick<Member, "userId" | "role"> }>("PATCH", `${wsPath(ws)}/members/${seg(userId)}`, { role }),
  removeMember: (ws: string, userId: string) =>
    request<{ ok: boolean }>("DELETE", `${wsPath(ws)}/members/${seg(userId)}`),
  teams: (ws: string) => request<TeamsReply>("GET", `${wsPath(ws)}/teams`),
  createTeam: (ws: string, name: string) => request<{ team: Team }>("POST", `${wsPath(ws)}/teams`, { name }),
  invitations: (ws: string) => request<InvitationsReply>("GET", `${wsPath(ws)}/invitations`),
  invite: (ws: string, email: string, role: Role) =>
    request<{ invitation: Invitation }>("POST", `${wsPath(ws)}/invitations`, { email, role }),
  revokeInvitation: (ws: string, id: string) =>
    request<{ ok: boolean }>("POST", `${wsPath(ws)}/invitations/${seg(id)}/revoke`, {}),

  apps: (ws: string) => request<{ items: App[] }>("GET", `${wsPath(ws)}/apps`),
  appStatuses: (ws: string) =>
    request<{ statuses: Record<string, string> }>("GET", `${wsPath(ws)}/apps/status`),
  app: (ws: string, appId: string) => request<App>("GET", appPath(ws, appId)),
  createApp: (
    ws: string,
    input: { appName: string; prompt: string; runtimeId: string; runtimeModel: string; runtimeParams: Record<string, string> },
  ) => request<App>("POST", `${wsPath(ws)}/apps`, input),
  appFiles: (ws: string, appId: string, version: "draft" | "published") =>
    request<AppFiles>("GET", `${appPath(ws, appId)}/files?version=${version}`),

  runs: (ws: string, appId: string) => request<{ runs: RunSummary[] }>("GET", `${appPath(ws, appId)}/runs`),
  createRun: (ws: string, appId: string) =>
    request<{ id: string; appId: string; status: string }>("POST", `${appPath(ws, appId)}/runs`, {}),
  chat: (ws: string, appId: string, runId: string) =>
    request<ChatSnapshot>("GET", `${runPath(ws, appId, runId)}/chat`),
  approveAgents: (ws: string, appId: string) =>
    request<{ ok: boolean; mockOnly: boolean; hasAgentsJson: boolean; hash: string | null }>("POST", `${appPath(ws, appId)}/agents/approval`, {}),
  stopChat: (ws: string, appId: string, runId: string) =>
    request<StopReply>("POST", `${runPath(ws, appId, runId)}/chat/stop`, {}),
};

/** Where the built app of a version is served (P-9): a sandboxed, opaque-origin document. */
export function previewUrl(ws: string, appId: string, version: "draft" | "published"): string {
  return `/preview/${seg(ws)}/${seg(appId)}/${version}/`;
}
