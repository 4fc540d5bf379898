import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Console sessions, kept in this process's memory:
 *
 *   browser cookie  ats_console=<256-bit random token>   (HttpOnly, SameSite=Strict, Path=/console)
 *   server          sha256(token) -> { credential, role, csrf, flash, times }
 *
 * The credential (admin or gateway key) never goes back to the browser; every
 * console action re-enters the HTTP API with it, so the API's auth middleware
 * decides every right on every request (a revoked key stops working at once).
 * Sessions die on sign-out, after IDLE_MS without use, after MAX_AGE_MS, and
 * when the process restarts (sign in again; several instances behind a load
 * balancer need sticky sessions).
 */
export type ConsoleRole = "operator" | "search";

export interface Flash {
  kind: "ok" | "error";
  text: string;
}

export interface Session {
  /** Admin or gateway key, as typed at sign-in. Server memory only. */
  readonly key: string;
  /** X-Athena-Client for client-bound gateway keys; "" when none. */
  readonly client: string;
  readonly role: ConsoleRole;
  /** "admin key" or "gateway key ath_ab12…": what the header shows. */
  readonly label: string;
  /** Per-session token every POST form carries in `_csrf`. */
  readonly csrf: string;
  readonly createdAt: number;
  lastSeen: number;
  flash: Flash | undefined;
}

export const COOKIE = "ats_console";
const IDLE_MS = 2 * 60 * 60 * 1000;
const MAX_AGE_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 10_000;

const digest = (token: string) => createHash("sha256").update(token).digest("hex");

export interface SessionStore {
  /** Creates a session; returns the cookie token (shown to nobody but the browser). */
  create(init: Pick<Session, "key" | "client" | "role" | "label">): string;
  get(token: string | undefined): Session | undefined;
  destroy(token: string | undefined): void;
}

export function createSessionStore(now: () => number = Date.now): SessionStore {
  const sessions = new Map<string, Session>();
  const expired = (s: Session, t: number) =>
    t - s.lastSeen > IDLE_MS || t - s.createdAt > MAX_AGE_MS;
  return {
    create(init) {
      const t = now();
      if (sessions.size >= MAX_SESSIONS) {
        for (const [k, s] of sessions) if (expired(s, t)) sessions.delete(k);
        // still full: drop the oldest (Map keeps insertion order)
        if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
      }
      const token = randomBytes(32).toString("base64url");
      sessions.set(digest(token), {
        ...init,
        csrf: randomBytes(24).toString("base64url"),
        createdAt: t,
        lastSeen: t,
        flash: undefined,
      });
      return token;
    },
    get(token) {
      if (!token || token.length > 100) return undefined;
      const k = digest(token);
      const s = sessions.get(k);
      if (!s) return undefined;
      const t = now();
      if (expired(s, t)) {
        sessions.delete(k);
        return undefined;
      }
      s.lastSeen = t;
      return s;
    },
    destroy(token) {
      if (token) sessions.delete(digest(token));
    },
  };
}

/** Constant-time comparison of the form's `_csrf` with the session's token. */
export function csrfMatches(session: Session, presented: unknown): boolean {
  if (typeof presented !== "string") return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(session.csrf).digest();
  return timingSafeEqual(a, b);
}

/** Reads and clears the one-shot message shown on the next page. */
export function takeFlash(session: Session | undefined): Flash | undefined {
  const f = session?.flash;
  if (session) session.flash = undefined;
  return f;
}
