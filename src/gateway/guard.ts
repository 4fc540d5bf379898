import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import type { AuthLogWriter } from "../control/auth-log-writer.js";
import type { Logger } from "../lifecycle/logger.js";
import { GatewayError, RATE_LIMITED, unauthorized } from "./errors.js";
import { bindingFor } from "./forward.js";
import type { GatewayBinding, GatewayKeys, GatewayPrincipal } from "./keys.js";
import { createRateLimiter, type RateLimit } from "./rate-limit.js";

export interface GatewayEnv {
  Variables: { searchKey?: GatewayPrincipal; keyLabel?: string };
}
export type Ctx = Context<GatewayEnv>;

/** The right the auth log names for the gateway's refusals. */
const RIGHT = "gateway.search_key";

/** Typesense accepts the key in this header (wins) or the same-named query parameter. */
function presentedKey(c: Ctx): string | undefined {
  const v = c.req.header("x-typesense-api-key") ?? c.req.query("x-typesense-api-key");
  return v?.trim() || undefined;
}

/** The TCP peer (never X-Forwarded-For: anyone can send it; as http/auth-log-hook.ts). */
function clientAddr(c: Ctx): string {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "unknown";
}

export interface GuardOptions {
  keys: GatewayKeys;
  authLog: AuthLogWriter;
  log: Logger;
  /** gateway.rate_limit (a key's own values override it); null = unlimited. */
  rateLimit: RateLimit | null;
  now?: (() => number) | undefined;
}

export interface Guard {
  /** Route middleware: verifies the key, then takes a token of its bucket; before any body read. */
  verify(route: string): MiddlewareHandler<GatewayEnv>;
  /** The key's binding of `name`; a collection outside its scope is 404 and logged as refused. */
  scoped(c: Ctx, route: string, name: unknown): { p: GatewayPrincipal; b: GatewayBinding };
  /** Records a refusal in the auth attempt log (never the key) and throws it. */
  refuse(c: Ctx, route: string, key: string, e: GatewayError, reason: string): never;
}

export function createGuard(o: GuardOptions): Guard {
  const limiter = createRateLimiter(o.now);

  function refuse(c: Ctx, route: string, key: string, e: GatewayError, reason: string): never {
    o.authLog.record({
      keyPublicId: key,
      method: c.req.method.slice(0, 16),
      route: `/typesense-api${route}`,
      rightNeeded: RIGHT,
      outcome: "refused",
      status: e.status,
      reason: reason.slice(0, 200),
      clientAddr: clientAddr(c),
    });
    throw e;
  }

  /** The key's own bucket, else the configured one; null = no limit. */
  function rateOf(p: GatewayPrincipal): RateLimit | null {
    const perSecond = p.rate.perSecond ?? o.rateLimit?.perSecond;
    const burst = p.rate.burst ?? o.rateLimit?.burst ?? (perSecond ? Math.ceil(perSecond) : null);
    return perSecond && burst ? { perSecond, burst } : null;
  }

  async function principalOf(c: Ctx, route: string): Promise<GatewayPrincipal> {
    const token = presentedKey(c);
    if (!token) refuse(c, route, "none", unauthorized(), "API key required");
    let r: Awaited<ReturnType<GatewayKeys["resolve"]>>;
    try {
      r = await o.keys.resolve(token);
    } catch (e) {
      o.log.warn({ component: "gateway", err: e }, "search key store unavailable");
      const err = new GatewayError(503, "API key validation unavailable");
      refuse(c, route, "none", err, err.message);
    }
    if (!r.ok) refuse(c, route, r.publicId, unauthorized(), r.reason);
    return r.principal;
  }

  return {
    refuse,
    verify: (route) => async (c, next) => {
      const p = await principalOf(c, route);
      c.set("searchKey", p);
      c.set("keyLabel", p.publicId);
      const limit = rateOf(p);
      // keyed by the parent: every scoped key minted from it shares its bucket
      const wait = limit ? limiter.take(p.keyId, limit) : 0;
      if (wait > 0) {
        const err = new GatewayError(429, RATE_LIMITED, { "retry-after": String(wait) });
        refuse(c, route, p.publicId, err, RATE_LIMITED);
      }
      await next();
    },
    scoped(c, route, name) {
      const p = c.get("searchKey")!;
      try {
        return { p, b: bindingFor(p, name) };
      } catch (e) {
        if (e instanceof GatewayError) {
          refuse(c, route, p.publicId, e, "collection not in the key's scope");
        }
        throw e;
      }
    },
  };
}
