import { useState, type FormEvent, type ReactNode } from "react";
import { Alert, Button, Logo, TextField } from "../components/ui";
import { api, errorMessage } from "../lib/api";
import { useDocumentTitle } from "../lib/hooks";
import { navigate, paths } from "../lib/router";
import { useSession } from "../lib/session";

function Frame({ step, children }: { step: 1 | 2; children: ReactNode }) {
  return (
    <div className="relative flex min-h-full items-center justify-center overflow-hidden px-4 py-12">
      <div
        aria-hidden="true"
        className="pointer-events-none absolute inset-0 bg-[radial-gradient(60rem_30rem_at_50%_-10%,rgba(99,102,241,0.12),transparent)]"
      />
      <main className="relative w-full max-w-md animate-fade-in">
        <div className="mb-8 flex flex-col items-center text-center">
          <Logo className="h-10 w-10" />
          <p className="mt-3 text-sm font-medium text-zinc-500">Second</p>
        </div>
        <div className="card p-8 shadow-lift">
          <p className="mb-5 text-xs font-medium uppercase tracking-wider text-accent-600">
            Step {step} of 2
          </p>
          {children}
        </div>
        <p className="mt-6 text-center text-xs text-zinc-400">
          Describe the internal tool you need. An AI agent builds it, you review and publish it.
        </p>
      </main>
    </div>
  );
}

export function IdentityStep({ initial }: { initial?: { displayName?: string; email?: string; profileRole?: string } }) {
  useDocumentTitle("Welcome");
  const { refresh } = useSession();
  const [displayName, setDisplayName] = useState(initial?.displayName ?? "");
  const [email, setEmail] = useState(initial?.email && !initial.email.endsWith("@second.localhost") ? initial.email : "");
  const [profileRole, setProfileRole] = useState(initial?.profileRole ?? "");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (displayName.trim().length < 2) return setError("Your name needs at least 2 characters.");
    if (profileRole.trim().length < 2) return setError("Tell us your role in a couple of words.");
    setBusy(true);
    try {
      await api.signIn({
        displayName: displayName.trim(),
        profileRole: profileRole.trim(),
        ...(email.trim() ? { email: email.trim() } : {}),
      });
      const next = await refresh();
      if (next.kind === "ready") navigate(paths.home(next.me.memberships[0].workspaceId), { replace: true });
      else navigate("/onboarding/workspace", { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <Frame step={1}>
      <h1 className="text-2xl font-semibold tracking-tight text-zinc-900">Welcome to Second</h1>
      <p className="mt-1.5 text-sm text-zinc-500">Tell us who you are. Your teammates see this next to your apps.</p>
      <form onSubmit={submit} className="mt-7 space-y-4" noValidate>
        <TextField
          label="Display name"
          name="displayName"
          autoComplete="name"
          autoFocus
          required
          maxLength={80}
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
          placeholder="Ada Lovelace"
        />
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          optional
          maxLength={254}
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          placeholder="ada@example.com"
          hint="Each email is its own account on this server."
        />
        <TextField
          label="Role"
          name="profileRole"
          autoComplete="organization-title"
          required
          maxLength={80}
          value={profileRole}
          onChange={(e) => setProfileRole(e.target.value)}
          placeholder="Operations lead"
        />
        {error && <Alert>{error}</Alert>}
        <Button type="submit" variant="primary" size="lg" className="w-full" loading={busy}>
          Continue
        </Button>
      </form>
    </Frame>
  );
}

export function WorkspaceStep() {
  useDocumentTitle("Create your workspace");
  const { state, refresh } = useSession();
  const me = state.kind === "needs-workspace" || state.kind === "ready" ? state.me : null;
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (name.trim().length < 2) return setError("A workspace name needs at least 2 characters.");
    setBusy(true);
    try {
      const { workspace } = await api.createFirstWorkspace(name.trim());
      try {
        await api.completeOnboarding();
      } catch {
        /* the workspace exists; the server will route the next visit to it anyway */
      }
      await refresh();
      navigate(paths.home(workspace.id), { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  const signOut = async () => {
    try {
      await api.signOut();
    } finally {
      await refresh();
      navigate("/", { replace: true });
    }
  };

  return (
    <Frame step={2}>
      <h1 className="text-2xl font-semibold tracking-tight text-zinc-900">Create your workspace</h1>
      <p className="mt-1.5 text-sm text-zinc-500">
        A workspace holds your team's apps, members and settings. You can invite people later.
      </p>
      <form onSubmit={submit} className="mt-7 space-y-4" noValidate>
        <TextField
          label="Workspace name"
          name="workspaceName"
          autoFocus
          required
          maxLength={80}
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Acme Operations"
        />
        {error && <Alert>{error}</Alert>}
        <Button type="submit" variant="primary" size="lg" className="w-full" loading={busy}>
          Create workspace
        </Button>
      </form>
      {me && (
        <p className="mt-6 border-t border-zinc-100 pt-4 text-center text-xs text-zinc-500">
          Signed in as <span className="font-medium text-zinc-700">{me.user.displayName}</span>.{" "}
          <button type="button" onClick={() => void signOut()} className="focus-ring rounded font-medium text-accent-700 hover:underline">
            Not you?
          </button>
        </p>
      )}
    </Frame>
  );
}

export function NewWorkspacePage() {
  useDocumentTitle("New workspace");
  const { refresh } = useSession();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (name.trim().length < 2) return setError("A workspace name needs at least 2 characters.");
    setBusy(true);
    try {
      const { workspace } = await api.createWorkspace(name.trim());
      await refresh();
      navigate(paths.home(workspace.id));
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <div className="mx-auto max-w-md px-4 py-16">
      <h1 className="text-2xl font-semibold tracking-tight text-zinc-900">New workspace</h1>
      <p className="mt-1.5 text-sm text-zinc-500">You'll be its owner. Apps, members and settings are kept per workspace.</p>
      <form onSubmit={submit} className="card mt-6 space-y-4 p-6" noValidate>
        <TextField label="Workspace name" autoFocus required maxLength={80} value={name} onChange={(e) => setName(e.target.value)} placeholder="Finance tools" />
        {error && <Alert>{error}</Alert>}
        <div className="flex justify-end gap-2">
          <Button onClick={() => window.history.back()}>Cancel</Button>
          <Button type="submit" variant="primary" loading={busy}>
            Create workspace
          </Button>
        </div>
      </form>
    </div>
  );
}
