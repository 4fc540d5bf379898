import type { Context } from "hono";
import type { ClientScope } from "../control/client-scope.js";
import type { AppEnv } from "./env.js";

/**
 * The client scope of the request's principal, for the control operations a
 * route calls. Only authenticated routes have a principal; calling this on a
 * public route is a programming error and fails the request (500) rather
 * than falling back to "every client".
 */
export function clientScopeOf(c: Context<AppEnv>): ClientScope {
  const p = c.get("principal");
  if (!p) throw new Error(`clientScopeOf: no principal on ${c.req.method} ${c.req.path}`);
  return p.clientScope;
}
