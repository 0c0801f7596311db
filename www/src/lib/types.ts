// The shapes second-api and second-sse answer with (fcgi/api/*.c, fcgi/sse/*.c).
import type { UIMessage } from "ai";

export type Role = "owner" | "admin" | "member";

export interface User {
  id: string;
  email?: string;
  displayName?: string;
  profileRole?: string;
  onboardingStep?: string;
  onboardingCompletedAt?: string;
}

export interface Membership {
  workspaceId: string;
  role: Role;
  workspaceName?: string;
}

/** GET /api/me */
export interface Me {
  user: User;
  memberships: Membership[];
  onboarding: { state: "ready" | "needs-workspace"; completed: boolean; next: string };
}

/** GET /api/auth/session: 200 whether signed in or not; signed in, GET /api/me's body too. */
export type AuthSession =
  | (Me & { signedIn: true; authMode: string })
  | {
      signedIn: false;
      authMode: string;
      onboarding: { state: "missing-identity" | "needs-profile"; completed: false; next: string };
    };

export interface AppRuntimeSettings {
  allowIframeScripts: boolean;
  allowIframeClipboard: boolean;
  allowIframeExternalLinks: boolean;
}

export interface Workspace {
  id: string;
  name: string;
  slug: string;
  defaultTeamId?: string;
  companyContext?: string | null;
  appRuntimeSettings?: AppRuntimeSettings;
  createdByUserId?: string;
  createdAt?: string;
  updatedAt?: string;
}

export interface WorkspaceListItem {
  id: string;
  name: string;
  slug: string;
  role: Role;
  createdAt?: string;
  joinedAt?: string;
}

export type PublishStatus = "draft" | "review_requested" | "changes_requested" | "published" | string;

export interface App {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  createdByUserId: string | null;
  createdAt: string;
  updatedAt: string;
  publishStatus: PublishStatus;
  teamIds: string[];
  collaboratorUserIds: string[];
  initialRun?: { id: string; status: RunStatus } | null;
}

export type RunStatus = "pending" | "streaming" | "completed" | "failed";

export interface RunFailure {
  code: string;
  phase?: string;
  message: string;
  retryable?: boolean;
}

export interface RunSummary {
  id: string;
  status: RunStatus;
  mode: string | null;
  messageCount: number | null;
  failure: RunFailure | null;
  createdAt: string;
  updatedAt: string;
}

/** GET .../runs/:runId/chat */
export interface ChatSnapshot {
  messages: UIMessage[] | null;
  status: RunStatus;
  failure: RunFailure | null;
}

/** POST .../chat/stop */
export interface StopReply {
  ok: boolean;
  status: RunStatus;
  stopped?: boolean;
  alreadyTerminal?: boolean;
  workerCancelled?: boolean;
  failure?: RunFailure | null;
}

/** GET .../apps/:appId/files */
export interface AppFiles {
  files: Record<string, string>;
  version: "draft" | "published";
  hasPublishedVersion: boolean;
  hasDraftChanges: boolean;
}

export interface Member {
  id: string;
  userId: string;
  displayName?: string;
  email?: string;
  role: Role;
  teamIds: string[];
  createdAt?: string;
}

export interface CurrentUser {
  userId: string;
  role: Role;
  permissions: string[];
  teamIds?: string[];
}

export interface TeamRef {
  id: string;
  name: string;
  slug: string;
}

/** GET .../members */
export interface MembersReply {
  currentUser: CurrentUser;
  defaultTeam: TeamRef | null;
  invitationCapability: { supported: boolean; provider?: string; reason?: string };
  members: Member[];
}

export interface Team {
  id: string;
  name: string;
  slug: string;
  isDefault: boolean;
  createdAt?: string;
}

/** GET .../teams */
export interface TeamsReply {
  currentUser: CurrentUser;
  defaultTeam: TeamRef | null;
  teams: Team[];
  members: Member[];
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  status: "pending" | "accepted" | "revoked" | "expired" | string;
  invitedByUserName?: string;
  createdAt?: string;
  expiresAt?: string;
}

/** GET .../invitations */
export interface InvitationsReply {
  invitationCapability: { supported: boolean; provider?: string; reason?: string };
  invitations: Invitation[];
}

/** One runtime in GET /api/setup/detect-provider (W-16). */
export interface RuntimeProbe {
  available: boolean;
  version?: string;
  error?: string;
  auth?: { envKeyConfigured?: boolean; cliLikelyConfigured?: boolean };
}

export interface DetectProvider {
  runtimes: Partial<Record<string, RuntimeProbe>>;
  workerReachable?: boolean;
}
