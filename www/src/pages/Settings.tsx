import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { Alert, Badge, Button, cx, EmptyState, Icon, Select, Spinner, TextField } from "../components/ui";
import { api, ApiError, errorMessage } from "../lib/api";
import { initials, timeAgo, useAsync, useDocumentTitle } from "../lib/hooks";
import { Link, paths } from "../lib/router";
import { useMe, useSession } from "../lib/session";
import type { AppRuntimeSettings, Role } from "../lib/types";

const TABS = [
  { id: "general", label: "General" },
  { id: "members", label: "Members" },
  { id: "teams", label: "Teams" },
  { id: "invitations", label: "Invitations" },
] as const;

export type SettingsTab = (typeof TABS)[number]["id"];

export function isSettingsTab(t: string): t is SettingsTab {
  return TABS.some((x) => x.id === t);
}

function Section({ title, description, children }: { title: string; description?: ReactNode; children: ReactNode }) {
  return (
    <section className="card p-6">
      <h2 className="text-[15px] font-semibold text-zinc-900">{title}</h2>
      {description && <p className="mt-1 text-sm text-zinc-500">{description}</p>}
      <div className="mt-5">{children}</div>
    </section>
  );
}

function Loading() {
  return (
    <div className="flex justify-center py-10 text-zinc-400" role="status">
      <Spinner className="h-5 w-5" />
      <span className="sr-only">Loading</span>
    </div>
  );
}

function Forbidden({ what }: { what: string }) {
  return (
    <EmptyState icon={<Icon name="users" className="h-5 w-5" />} title={`Only admins can manage ${what}`}>
      Ask an owner or admin of this workspace if you need a change here.
    </EmptyState>
  );
}

const ROLE_LABEL: Record<Role, string> = { owner: "Owner", admin: "Admin", member: "Member" };

function RoleBadge({ role }: { role: Role }) {
  return <Badge tone={role === "owner" ? "accent" : role === "admin" ? "green" : "neutral"}>{ROLE_LABEL[role] ?? role}</Badge>;
}

function Saved({ show }: { show: boolean }) {
  return (
    <span aria-live="polite" className={cx("flex items-center gap-1 text-xs text-emerald-700 transition-opacity", show ? "opacity-100" : "opacity-0")}>
      {show && (
        <>
          <Icon name="check" className="h-3.5 w-3.5" /> Saved
        </>
      )}
    </span>
  );
}

function General({ ws }: { ws: string }) {
  const { refresh } = useSession();
  const workspace = useAsync(() => api.workspace(ws), [ws]);
  const runtime = useAsync(() => api.runtimeSettings(ws), [ws]);
  const [name, setName] = useState("");
  const [nameError, setNameError] = useState<string | null>(null);
  const [savingName, setSavingName] = useState(false);
  const [savedName, setSavedName] = useState(false);
  const [runtimeError, setRuntimeError] = useState<string | null>(null);

  useEffect(() => {
    if (workspace.data) setName(workspace.data.workspace.name);
  }, [workspace.data]);

  const canManage = workspace.data ? workspace.data.role !== "member" : false;

  const saveName = async (e: FormEvent) => {
    e.preventDefault();
    setNameError(null);
    setSavedName(false);
    if (name.trim().length < 2) return setNameError("A workspace name needs at least 2 characters.");
    setSavingName(true);
    try {
      const r = await api.renameWorkspace(ws, name.trim());
      workspace.setData((d) => (d ? { ...d, workspace: r.workspace } : d));
      setSavedName(true);
      void refresh();
    } catch (err) {
      setNameError(errorMessage(err));
    } finally {
      setSavingName(false);
    }
  };

  const toggle = async (key: keyof AppRuntimeSettings, value: boolean) => {
    setRuntimeError(null);
    const prev = runtime.data;
    if (prev) runtime.setData({ ...prev, settings: { ...prev.settings, [key]: value } });
    try {
      runtime.setData(await api.patchRuntimeSettings(ws, { [key]: value }));
    } catch (err) {
      runtime.setData(prev);
      setRuntimeError(errorMessage(err));
    }
  };

  const toggles: Array<{ key: keyof AppRuntimeSettings; label: string; hint: string }> = [
    { key: "allowIframeScripts", label: "Run app scripts", hint: "Apps need this to be interactive. Turn it off to show static pages only." },
    { key: "allowIframeClipboard", label: "Allow copying to the clipboard", hint: "Lets apps put text on the clipboard when someone clicks a copy button." },
    { key: "allowIframeExternalLinks", label: "Open external links", hint: "Lets apps open links to other sites in a new tab." },
  ];

  return (
    <div className="space-y-6">
      <Section title="Workspace" description="The name your team sees in the workspace switcher.">
        {workspace.loading && !workspace.data ? (
          <Loading />
        ) : workspace.error ? (
          <Alert>{errorMessage(workspace.error)}</Alert>
        ) : (
          <form onSubmit={saveName} className="space-y-4">
            <TextField
              label="Workspace name"
              value={name}
              maxLength={80}
              onChange={(e) => {
                setName(e.target.value);
                setSavedName(false);
              }}
              disabled={!canManage}
              error={nameError}
              hint={!canManage ? "Only owners and admins can rename the workspace." : undefined}
              className="max-w-md"
            />
            <p className="text-xs text-zinc-500">
              Workspace ID <code className="rounded bg-zinc-100 px-1 py-0.5 font-mono text-zinc-700">{workspace.data?.workspace.id}</code>
            </p>
            {canManage && (
              <div className="flex items-center gap-3">
                <Button type="submit" variant="primary" loading={savingName} disabled={name.trim() === workspace.data?.workspace.name}>
                  Save
                </Button>
                <Saved show={savedName} />
              </div>
            )}
          </form>
        )}
      </Section>

      <Section title="App runtime" description="What the apps built in this workspace may do in the browser. These apply to every app's preview.">
        {runtime.loading && !runtime.data ? (
          <Loading />
        ) : runtime.error ? (
          <Alert>{errorMessage(runtime.error)}</Alert>
        ) : runtime.data ? (
          <div className="divide-y divide-zinc-100">
            {toggles.map((t) => (
              <label key={t.key} className={cx("flex items-start justify-between gap-6 py-3 first:pt-0 last:pb-0", runtime.data!.canManage && "cursor-pointer")}>
                <span>
                  <span className="block text-sm font-medium text-zinc-900">{t.label}</span>
                  <span className="block text-[13px] text-zinc-500">{t.hint}</span>
                </span>
                <Switch
                  checked={runtime.data!.settings[t.key]}
                  disabled={!runtime.data!.canManage}
                  onChange={(v) => void toggle(t.key, v)}
                  label={t.label}
                />
              </label>
            ))}
            {!runtime.data.canManage && <p className="pt-3 text-xs text-zinc-500">Only owners and admins can change these.</p>}
            {runtimeError && <Alert className="mt-3">{runtimeError}</Alert>}
          </div>
        ) : null}
      </Section>
    </div>
  );
}

function Switch({ checked, disabled, onChange, label }: { checked: boolean; disabled?: boolean; onChange: (v: boolean) => void; label: string }) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      disabled={disabled}
      onClick={() => onChange(!checked)}
      className={cx(
        "focus-ring relative mt-0.5 inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors disabled:cursor-not-allowed disabled:opacity-50",
        checked ? "bg-accent-600" : "bg-zinc-300",
      )}
    >
      <span className={cx("inline-block h-4 w-4 rounded-full bg-white shadow transition-transform", checked ? "translate-x-[18px]" : "translate-x-0.5")} />
    </button>
  );
}

function Members({ ws }: { ws: string }) {
  const me = useMe();
  const members = useAsync(() => api.members(ws), [ws]);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<string | null>(null);

  if (members.loading && !members.data) return <Loading />;
  if (members.error) {
    if (members.error instanceof ApiError && members.error.status === 403) return <Forbidden what="members" />;
    return <Alert>{errorMessage(members.error)}</Alert>;
  }
  const data = members.data!;
  const perms = new Set(data.currentUser.permissions);
  const canManage = perms.has("members:manage");
  const canManageOwners = perms.has("members:manage-owner");

  const setRole = async (userId: string, role: Role) => {
    setError(null);
    setPending(userId);
    try {
      await api.setMemberRole(ws, userId, role);
      members.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setPending(null);
    }
  };
  const remove = async (userId: string, name: string) => {
    if (!window.confirm(`Remove ${name} from this workspace? They lose access to its apps.`)) return;
    setError(null);
    setPending(userId);
    try {
      await api.removeMember(ws, userId);
      members.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setPending(null);
    }
  };

  return (
    <Section
      title="Members"
      description={
        <>
          Everyone in this workspace.{" "}
          {perms.has("members:invite") && (
            <Link to={paths.settings(ws, "invitations")} className="font-medium text-accent-700 hover:underline">
              Invite people
            </Link>
          )}
        </>
      }
    >
      {error && <Alert className="mb-4">{error}</Alert>}
      <ul className="divide-y divide-zinc-100" aria-label="Members">
        {data.members.map((m) => {
          const self = m.userId === me.user.id;
          const name = m.displayName || m.email || "Unnamed";
          const editable = canManage && !self && (m.role !== "owner" || canManageOwners);
          return (
            <li key={m.userId} className="flex items-center gap-3 py-3 first:pt-0 last:pb-0">
              <span className="flex h-9 w-9 shrink-0 items-center justify-center rounded-full bg-zinc-100 text-xs font-semibold text-zinc-600" aria-hidden="true">
                {initials(name)}
              </span>
              <div className="min-w-0 flex-1">
                <p className="truncate text-sm font-medium text-zinc-900">
                  {name} {self && <span className="font-normal text-zinc-400">(you)</span>}
                </p>
                <p className="truncate text-xs text-zinc-500">{m.email}</p>
              </div>
              {editable ? (
                <>
                  <Select
                    label={`Role of ${name}`}
                    hideLabel
                    value={m.role}
                    disabled={pending === m.userId}
                    onChange={(e) => void setRole(m.userId, e.target.value as Role)}
                    className="w-32"
                  >
                    {canManageOwners && <option value="owner">Owner</option>}
                    <option value="admin">Admin</option>
                    <option value="member">Member</option>
                  </Select>
                  <Button variant="ghost" size="sm" onClick={() => void remove(m.userId, name)} disabled={pending === m.userId} aria-label={`Remove ${name}`}>
                    <Icon name="x" className="h-4 w-4" />
                  </Button>
                </>
              ) : (
                <RoleBadge role={m.role} />
              )}
            </li>
          );
        })}
      </ul>
    </Section>
  );
}

function Teams({ ws }: { ws: string }) {
  const teams = useAsync(() => api.teams(ws), [ws]);
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (teams.loading && !teams.data) return <Loading />;
  if (teams.error) return <Alert>{errorMessage(teams.error)}</Alert>;
  const data = teams.data!;
  const canManage = data.currentUser.permissions.includes("members:manage");
  const countOf = (teamId: string) => data.members.filter((m) => m.teamIds?.includes(teamId)).length;

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!name.trim()) return setError("Give the team a name.");
    setBusy(true);
    try {
      await api.createTeam(ws, name.trim());
      setName("");
      teams.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="space-y-6">
      <Section title="Teams" description="Apps are published to teams. Everyone is in the default team.">
        <ul className="divide-y divide-zinc-100" aria-label="Teams">
          {data.teams.map((t) => {
            const n = countOf(t.id);
            return (
              <li key={t.id} className="flex items-center gap-3 py-3 first:pt-0 last:pb-0">
                <span className="flex h-9 w-9 shrink-0 items-center justify-center rounded-lg bg-zinc-100 text-zinc-500" aria-hidden="true">
                  <Icon name="users" className="h-4 w-4" />
                </span>
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium text-zinc-900">{t.name}</p>
                  <p className="text-xs text-zinc-500">
                    {n === 1 ? "1 member" : `${n} members`}
                    {t.createdAt && ` · created ${timeAgo(t.createdAt)}`}
                  </p>
                </div>
                {t.isDefault && <Badge>Default</Badge>}
              </li>
            );
          })}
        </ul>
      </Section>
      {canManage && (
        <Section title="New team">
          <form onSubmit={create} className="flex flex-wrap items-end gap-3">
            <TextField label="Team name" value={name} onChange={(e) => setName(e.target.value)} maxLength={80} placeholder="Finance" className="min-w-[14rem] flex-1" />
            <Button type="submit" variant="primary" loading={busy}>
              Create team
            </Button>
          </form>
          {error && <Alert className="mt-4">{error}</Alert>}
        </Section>
      )}
    </div>
  );
}

function Invitations({ ws }: { ws: string }) {
  const me = useMe();
  const invitations = useAsync(() => api.invitations(ws), [ws]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const myRole = me.memberships.find((m) => m.workspaceId === ws)?.role;

  if (invitations.loading && !invitations.data) return <Loading />;
  if (invitations.error) {
    if (invitations.error instanceof ApiError && invitations.error.status === 403) return <Forbidden what="invitations" />;
    return <Alert>{errorMessage(invitations.error)}</Alert>;
  }
  const data = invitations.data!;

  const invite = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setNotice(null);
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) return setError("Enter a valid email address.");
    setBusy(true);
    try {
      await api.invite(ws, email.trim(), role);
      setNotice(`Invited ${email.trim()}. They see the invitation when they sign in with that email.`);
      setEmail("");
      invitations.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await api.revokeInvitation(ws, id);
      invitations.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const tone = (s: string) => (s === "pending" ? "amber" : s === "accepted" ? "green" : "neutral") as "amber" | "green" | "neutral";

  return (
    <div className="space-y-6">
      <Section title="Invite people" description="Invitations join the default team. They expire after a while if nobody accepts them.">
        {data.invitationCapability.supported ? (
          <form onSubmit={invite} className="flex flex-wrap items-end gap-3" noValidate>
            <TextField label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} placeholder="teammate@example.com" className="min-w-[14rem] flex-1" />
            <Select label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)} className="w-36">
              <option value="member">Member</option>
              <option value="admin">Admin</option>
              {myRole === "owner" && <option value="owner">Owner</option>}
            </Select>
            <Button type="submit" variant="primary" loading={busy}>
              <Icon name="mail" className="h-4 w-4" />
              Send invitation
            </Button>
          </form>
        ) : (
          <Alert tone="info">This server can't send invitations ({data.invitationCapability.reason ?? "not configured"}).</Alert>
        )}
        {error && <Alert className="mt-4">{error}</Alert>}
        {notice && (
          <Alert tone="info" className="mt-4">
            {notice}
          </Alert>
        )}
      </Section>
      <Section title="Invitations">
        {data.invitations.length === 0 ? (
          <p className="text-sm text-zinc-500">No invitations yet.</p>
        ) : (
          <ul className="divide-y divide-zinc-100" aria-label="Invitations">
            {data.invitations.map((inv) => (
              <li key={inv.id} className="flex items-center gap-3 py-3 first:pt-0 last:pb-0">
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium text-zinc-900">{inv.email}</p>
                  <p className="text-xs text-zinc-500">
                    {ROLE_LABEL[inv.role] ?? inv.role}
                    {inv.invitedByUserName && ` · invited by ${inv.invitedByUserName}`}
                    {inv.createdAt && ` ${timeAgo(inv.createdAt)}`}
                  </p>
                </div>
                <Badge tone={tone(inv.status)}>{inv.status[0].toUpperCase() + inv.status.slice(1)}</Badge>
                {inv.status === "pending" && (
                  <Button variant="ghost" size="sm" onClick={() => void revoke(inv.id)}>
                    Revoke
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </Section>
    </div>
  );
}

export function SettingsPage({ ws, tab }: { ws: string; tab: SettingsTab }) {
  const label = TABS.find((t) => t.id === tab)?.label ?? "Settings";
  useDocumentTitle(`${label} settings`);
  return (
    <div className="h-full overflow-y-auto scrollbar-thin">
      <div className="mx-auto max-w-4xl px-4 py-10">
        <h1 className="text-2xl font-semibold tracking-tight text-zinc-900">Settings</h1>
        <div className="mt-6 flex flex-col gap-8 md:flex-row">
          <nav aria-label="Settings" className="flex shrink-0 gap-1 overflow-x-auto md:w-44 md:flex-col">
            {TABS.map((t) => (
              <Link
                key={t.id}
                to={paths.settings(ws, t.id)}
                aria-current={t.id === tab ? "page" : undefined}
                className={cx(
                  "focus-ring rounded-md px-3 py-1.5 text-sm font-medium transition-colors",
                  t.id === tab ? "bg-white text-zinc-900 shadow-sm ring-1 ring-zinc-200" : "text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900",
                )}
              >
                {t.label}
              </Link>
            ))}
          </nav>
          <div className="min-w-0 flex-1">
            {tab === "general" && <General ws={ws} />}
            {tab === "members" && <Members ws={ws} />}
            {tab === "teams" && <Teams ws={ws} />}
            {tab === "invitations" && <Invitations ws={ws} />}
          </div>
        </div>
      </div>
    </div>
  );
}
