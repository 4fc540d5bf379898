import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { parseGatewayToken } from "../control/api-keys.js";
import type { AuthAttempt, AuthLogWriter } from "../control/auth-log-writer.js";
import { presentedKeys } from "./auth.js";
import type { AppEnv } from "./env.js";
import { ApiError } from "./errors.js";
import { rightNeeded } from "./rights.js";

/**
 * The route pattern that will answer ("/typesense/sync-jobs/:job_id"), never
 * the raw path: ids and the query string (which may carry ?api_key=) stay
 * out, and the set of values is bounded. A path no route answers is
 * "(no route)" (only middleware, registered for ALL, matched it).
 */
function routeOf(c: Context<AppEnv>): string {
  const last = matchedRoutes(c).at(-1);
  return last && last.method !== "ALL" ? last.path : "(no route)";
}

/**
 * The TCP peer. X-Forwarded-For is NOT used: anyone can send it, and an
 * attacker-chosen value per request would defeat the aggregation. Behind a
 * proxy this is the proxy's address (docs/operations.md).
 */
function clientAddr(c: Context<AppEnv>): string {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "unknown";
}

/**
 * Who the request claimed to be, without any secret: the public id part of
 * the first ath_ token presented (the writer stores "none" when no such key
 * exists), else "none".
 */
function claimedKey(c: Context<AppEnv>): string {
  for (const k of presentedKeys(c.req.raw.headers)) {
    const t = parseGatewayToken(k);
    if (t) return t.publicId;
  }
  return "none";
}

function attempt(
  c: Context<AppEnv>,
  keyPublicId: string,
  outcome: AuthAttempt["outcome"],
  status: number,
  reason: string,
): AuthAttempt {
  return {
    keyPublicId,
    method: c.req.method.slice(0, 16),
    route: routeOf(c),
    rightNeeded: rightNeeded(c),
    outcome,
    status,
    reason: reason.slice(0, 200),
    clientAddr: clientAddr(c),
  };
}

/**
 * Wraps the auth middleware: an ApiError it throws before letting the
 * request through is a refusal (401/403/503) and is recorded; a request the
 * admin key made to an admin-only route is recorded after it answered, with
 * its status. writer.record is synchronous and buffered, so neither path
 * waits for the log, and a log failure cannot change the response.
 */
export function withAuthLog(
  writer: AuthLogWriter,
  auth: MiddlewareHandler<AppEnv>,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let passed = false;
    let res: Awaited<ReturnType<typeof auth>>;
    try {
      res = await auth(c, () => {
        passed = true;
        return next();
      });
    } catch (e) {
      if (!passed && e instanceof ApiError) {
        writer.record(attempt(c, claimedKey(c), "refused", e.httpStatus, e.message));
      }
      throw e;
    }
    const p = c.get("principal");
    if (passed && p?.kind === "admin" && rightNeeded(c) === "admin") {
      writer.record(attempt(c, "admin", "allowed", c.res.status, "admin key"));
    }
    return res;
  };
}
