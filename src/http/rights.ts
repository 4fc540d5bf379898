import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { ServiceError } from "../errors/service-error.js";
import type { AppEnv, GatewayRight, Principal, Right, RouteRight } from "./env.js";

export type { GatewayRight, Right, RouteRight };

/**
 * What a route needs, declared once on the route itself (`middleware:
 * requires(...)` in its createRoute, or next to app.get for the few plain
 * routes). The auth middleware runs before any body is read, finds the
 * declaration of the route that will answer (hono has matched the whole
 * chain before the first middleware runs) and enforces it there; the
 * declaring middleware itself only checks, when the route is reached, that
 * auth enforced exactly this right (fail closed if it did not).
 *
 * The rights themselves are listed with their meaning in env.ts (Right).
 */
const PROXY_RIGHTS = ["gateway.typesense_proxy", "gateway.*", "*"];
/** Key rights that satisfy a declared gateway right. */
const RIGHT_IMPLIED_BY: Record<GatewayRight, readonly string[]> = {
  "gateway.typesense_proxy": PROXY_RIGHTS,
  "gateway.typesense_search": ["gateway.typesense_search", ...PROXY_RIGHTS],
};

/**
 * A path no route answers needs a credential with the proxy right, as every
 * undeclared path always did: 401 without a key, then 404 (not a 403 that
 * would differ from route to route).
 */
export const NO_ROUTE: RouteRight = { right: "gateway.typesense_proxy", unbound: false };

const DECLARED = Symbol("route right");
type Declaring = MiddlewareHandler<AppEnv> & { [DECLARED]: RouteRight };

/** The right auth enforced for this request, set before the route is reached. */
const ENFORCED = "enforcedRight";

export function requires(right: Right, opts: { unbound?: boolean } = {}): Declaring {
  const declared: RouteRight = { right, unbound: opts.unbound ?? false };
  const check: MiddlewareHandler<AppEnv> = async (c, next) => {
    const enforced = c.get(ENFORCED);
    if (enforced?.right !== declared.right || enforced.unbound !== declared.unbound) {
      throw new ServiceError("INTERNAL", "route reached without its right being enforced");
    }
    await next();
  };
  return Object.assign(check, { [DECLARED]: declared });
}

/** The right a handler declares, if it is a `requires` middleware. */
export function declaredBy(handler: unknown): RouteRight | undefined {
  return (handler as Partial<Declaring> | null)?.[DECLARED];
}

/**
 * The declaration of the route that will answer: the first declaring
 * middleware in match order (hono runs matched handlers in that order, and a
 * route's `requires` comes right before its own validators and handler).
 * A matched route that declares nothing gets "admin": fail closed
 * (test/http/route-rights.pg.test.ts fails on such a route).
 */
export function routeRight(c: Context<AppEnv>): RouteRight {
  let routed = false;
  for (const r of matchedRoutes(c)) {
    const d = declaredBy(r.handler);
    if (d) return d;
    if (r.method !== "ALL") routed = true;
  }
  return routed ? { right: "admin", unbound: false } : NO_ROUTE;
}

/** Marks the request as authorized for `declared` (the route's check reads it). */
export function markEnforced(c: Context<AppEnv>, declared: RouteRight): void {
  c.set(ENFORCED, declared);
}

/** Whether `p` may call a route that declares `declared` (public/console never get here). */
export function grants(p: Principal, declared: RouteRight): boolean {
  const { right } = declared;
  if (p.kind === "admin") return true;
  if (right === "admin") return false;
  if (declared.unbound && p.clientScope !== null) return false;
  // fail-open mode: an unverified key is treated as a proxy key, never as admin
  if (p.kind === "unverified") return true;
  if (right === "public" || right === "console") return true;
  return p.rights.some((r) => RIGHT_IMPLIED_BY[right].includes(r));
}

/** The right the auth log names: the one the request's route declares. */
export function rightNeeded(c: Context<AppEnv>): string {
  return routeRight(c).right;
}
