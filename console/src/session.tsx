import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiError, api, setSessionLostHandler, setWorkspace } from "./api/client";
import type { Role, Session, Workspace } from "./api/types";

// What each role may do, as the API enforces it; the console hides or disables what a role cannot use.
export type Action = "read" | "edit" | "admin";
const ALLOWED: Record<Role, Action[]> = {
  viewer: ["read"],
  author: ["read", "edit"],
  admin: ["read", "edit", "admin"],
};

interface SessionState {
  status: "loading" | "signed-out" | "signed-in";
  session: Session | null;
  workspace: Workspace | null;
  signIn(email: string, password: string): Promise<void>;
  /** A new user's first sign-in: their temporary password replaced with one they choose. */
  setFirstPassword(email: string, password: string, newPassword: string): Promise<void>;
  signOut(): Promise<void>;
  chooseWorkspace(id: string): void;
  can(action: Action): boolean;
}

const SessionContext = createContext<SessionState | null>(null);
const WORKSPACE_KEY = "nudge.workspace"; // which workspace was last open: an id, nothing secret

function pickWorkspace(session: Session): Workspace | null {
  const remembered = localStorage.getItem(WORKSPACE_KEY);
  return session.workspaces.find((w) => w.id === remembered) ?? session.workspaces[0] ?? null;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionState["status"]>("loading");
  const [session, setSession] = useState<Session | null>(null);
  const [workspace, setCurrent] = useState<Workspace | null>(null);

  const adopt = useCallback((found: Session | null) => {
    const chosen = found ? pickWorkspace(found) : null;
    setWorkspace(chosen?.id ?? null);
    setSession(found);
    setCurrent(chosen);
    setStatus(found ? "signed-in" : "signed-out");
  }, []);

  useEffect(() => {
    setSessionLostHandler(() => adopt(null));
    api
      .get<{ session: Session }>("/v1/session", { expectUnauthorized: true })
      .then((answer) => adopt(answer.session))
      .catch(() => adopt(null));
  }, [adopt]);

  const value = useMemo<SessionState>(
    () => ({
      status,
      session,
      workspace,
      async signIn(email, password) {
        const answer = await api.post<{ session: Session }>(
          "/v1/session",
          { email, password },
          { expectUnauthorized: true },
        );
        adopt(answer.session);
      },
      async setFirstPassword(email, password, newPassword) {
        const answer = await api.post<{ session: Session }>(
          "/v1/session/password",
          { email, password, new_password: newPassword },
          { expectUnauthorized: true },
        );
        adopt(answer.session);
      },
      async signOut() {
        try {
          await api.delete("/v1/session", { expectUnauthorized: true });
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 401) throw error;
        }
        adopt(null);
      },
      chooseWorkspace(id) {
        const chosen = session?.workspaces.find((w) => w.id === id);
        if (!chosen) return;
        localStorage.setItem(WORKSPACE_KEY, chosen.id);
        setWorkspace(chosen.id);
        setCurrent(chosen);
      },
      can(action) {
        return workspace ? ALLOWED[workspace.role].includes(action) : false;
      },
    }),
    [status, session, workspace, adopt],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const found = useContext(SessionContext);
  if (!found) throw new Error("useSession outside SessionProvider");
  return found;
}
