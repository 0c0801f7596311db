// Who is signed in: GET /api/auth/session (200 signed in or not, so a first visit logs no
// failed request), kept for the whole UI and refreshed after sign-in, workspace
// creation and sign-out.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, ApiError, errorMessage } from "./api";
import type { Me } from "./types";

export type SessionState =
  | { kind: "loading" }
  | { kind: "anonymous" }
  | { kind: "needs-workspace"; me: Me }
  | { kind: "ready"; me: Me }
  | { kind: "error"; message: string };

interface SessionValue {
  state: SessionState;
  refresh: () => Promise<SessionState>;
}

const SessionContext = createContext<SessionValue | null>(null);

async function load(): Promise<SessionState> {
  try {
    const session = await api.session();
    if (!session.signedIn) return { kind: "anonymous" };
    const me: Me = { user: session.user, memberships: session.memberships, onboarding: session.onboarding };
    if (me.onboarding.state === "ready" && me.memberships.length > 0) return { kind: "ready", me };
    return { kind: "needs-workspace", me };
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.code === "identity_required" || err.code === "profile_required"))
      return { kind: "anonymous" };
    if (err instanceof ApiError && err.code === "workspace_required") return { kind: "anonymous" };
    return { kind: "error", message: errorMessage(err) };
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ kind: "loading" });
  const refresh = useCallback(async () => {
    const next = await load();
    setState(next);
    return next;
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const value = useMemo(() => ({ state, refresh }), [state, refresh]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error("useSession outside SessionProvider");
  return v;
}

/** The signed-in user's data; only for screens rendered in the "ready" state. */
export function useMe(): Me {
  const { state } = useSession();
  if (state.kind !== "ready" && state.kind !== "needs-workspace") throw new Error("useMe without a session");
  return state.me;
}
