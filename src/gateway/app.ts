import type { IncomingMessage } from "node:http";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { AuthLogWriter } from "../control/auth-log-writer.js";
import type { TypesenseClients } from "../control/typesense-clients.js";
import type { Logger } from "../lifecycle/logger.js";
import type { Metrics } from "../metrics/index.js";
import { GatewayError, NOT_FOUND, RATE_LIMITED, unauthorized } from "./errors.js";
import {
  backendFailure,
  bindingFor,
  multiSearch,
  type Passed,
  searchCollection,
} from "./forward.js";
import type { GatewayKeys, GatewayPrincipal } from "./keys.js";
import { createRateLimiter, type RateLimit } from "./rate-limit.js";

export interface GatewayOptions {
  keys: GatewayKeys;
  /** The process's Typesense client cache (the same the API and CDC use). */
  clients: TypesenseClients;
  authLog: AuthLogWriter;
  log: Logger;
  metrics?: Metrics | undefined;
  /** gateway.cors_origins: exact origins, or "*" (any). Empty: no CORS headers. */
  corsOrigins: readonly string[];
  /** gateway.rate_limit (a key's own values override it); null = unlimited. */
  rateLimit: RateLimit | null;
  bodyLimitBytes: number;
  now?: () => number;
}

/** What createApp mounts at /typesense-api, and what its writes invalidate. */
export interface Gateway {
  app: Hono<GatewayEnv>;
  invalidate(): void;
}

export interface GatewayEnv {
  Variables: { searchKey?: GatewayPrincipal; keyLabel?: string };
}

type Ctx = Context<GatewayEnv>;

const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };
/** The right the auth log names for the gateway's refusals. */
const RIGHT = "gateway.search_key";

/** Typesense accepts the key in this header (wins) or the same-named query parameter. */
function presentedKey(c: Ctx): string | undefined {
  const v = c.req.header("x-typesense-api-key") ?? c.req.query("x-typesense-api-key");
  return v?.trim() || undefined;
}

function clientAddr(c: Ctx): string {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "unknown";
}

function pass(c: Ctx, r: Passed): Response {
  return c.body(r.body, r.status as 200, JSON_TYPE);
}

/** The URL's parameters without the key; a repeated filter_by keeps every value. */
function queryParams(c: Ctx): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const q = new URL(c.req.url).searchParams;
  for (const [k, v] of q) if (k !== "x-typesense-api-key") out[k] = v;
  const filters = q.getAll("filter_by");
  if (filters.length > 1) out.filter_by = filters;
  return out;
}

/**
 * Typesense's search API for frontends (docs/gateway.md), as a sub-app the
 * API mounts at /typesense-api BEFORE its own auth: every route here does its
 * own, with search keys (keys.ts), and answers in Typesense's shape. Per request:
 *
 *   CORS (preflight answered here, no key) -> key (header or query) -> verify
 *   -> token bucket -> body limit -> scope applied -> forwarded -> Typesense's bytes back
 *
 * The key is checked before any body is read: a bad key is 401 whatever the body.
 */
export function createGateway(o: GatewayOptions): Gateway {
  const app = new Hono<GatewayEnv>();
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

  /** Verifies the key and takes a token; route is the pattern (auth log, metrics). */
  const guard =
    (route: string): MiddlewareHandler<GatewayEnv> =>
    async (c, next) => {
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
      const p = r.principal;
      c.set("searchKey", p);
      c.set("keyLabel", p.publicId);
      const limit = rateOf(p);
      const wait = limit ? limiter.take(p.keyId, limit) : 0;
      if (wait > 0) {
        const err = new GatewayError(429, RATE_LIMITED, { "retry-after": String(wait) });
        refuse(c, route, p.publicId, err, RATE_LIMITED);
      }
      await next();
    };

  function rateOf(p: GatewayPrincipal): RateLimit | null {
    const perSecond = p.rate.perSecond ?? o.rateLimit?.perSecond;
    const burst = p.rate.burst ?? o.rateLimit?.burst ?? (perSecond ? Math.ceil(perSecond) : null);
    return perSecond && burst ? { perSecond, burst } : null;
  }

  /** A collection outside the key's scope is 404 like an unknown one, and logged as refused. */
  function scoped(c: Ctx, route: string, name: string) {
    const p = c.get("searchKey")!;
    try {
      return { p, b: bindingFor(p, name) };
    } catch (e) {
      if (e instanceof GatewayError)
        refuse(c, route, p.publicId, e, "collection not in the key's scope");
      throw e;
    }
  }

  const limitBody = bodyLimit({
    maxSize: o.bodyLimitBytes,
    onError: () => {
      throw new GatewayError(413, "Request body too large.");
    },
  });

  if (o.corsOrigins.length > 0) {
    const any = o.corsOrigins.includes("*");
    app.use(
      "*",
      cors({
        origin: any ? "*" : [...o.corsOrigins],
        allowMethods: ["GET", "POST", "OPTIONS"],
        allowHeaders: ["X-TYPESENSE-API-KEY", "Content-Type"],
        maxAge: 600,
      }),
    );
  }
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    const m = o.metrics;
    if (!m) return;
    const labels = { key: c.get("keyLabel") ?? "none", route: routeLabel(c) };
    m.gatewayRequests.inc({ ...labels, status: String(c.res.status) });
    m.gatewayDuration.observe(labels, (performance.now() - started) / 1000);
  });

  // Typesense's /health needs no key; this answers for the sidecar itself.
  app.get("/health", (c) => c.body('{"ok":true}', 200, JSON_TYPE));

  const SEARCH = "/collections/:name/documents/search";
  const searchHandler = async (c: Ctx, body: Record<string, unknown>) => {
    const { p, b } = scoped(c, SEARCH, c.req.param("name") ?? "");
    return pass(c, await searchCollection(o.clients, p, b, { ...body, ...queryParams(c) }));
  };
  app.get(SEARCH, guard(SEARCH), (c) => searchHandler(c, {}));
  app.post(SEARCH, guard(SEARCH), limitBody, async (c) => {
    const text = await c.req.text();
    let body: unknown = {};
    try {
      body = text.trim() === "" ? {} : JSON.parse(text);
    } catch {
      throw new GatewayError(400, "Bad JSON.");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new GatewayError(400, "Bad JSON.");
    }
    return searchHandler(c, body as Record<string, unknown>);
  });

  const MULTI = "/multi_search";
  app.post(MULTI, guard(MULTI), limitBody, async (c) => {
    const p = c.get("searchKey")!;
    try {
      return pass(c, await multiSearch(o.clients, p, await c.req.text(), queryParams(c)));
    } catch (e) {
      if (e instanceof GatewayError && e.status === 404) {
        refuse(c, MULTI, p.publicId, e, "collection not in the key's scope");
      }
      throw e;
    }
  });

  const COLLECTION = "/collections/:name";
  app.get(COLLECTION, guard(COLLECTION), async (c) => {
    const { b } = scoped(c, COLLECTION, c.req.param("name") ?? "");
    const backend = o.clients.forSaved(b.backend);
    try {
      const path = `/collections/${encodeURIComponent(b.collection)}`;
      return pass(c, await backend.forward({ method: "GET", path }));
    } catch (e) {
      throw backendFailure(e);
    }
  });

  // Typesense answers an unknown route 404 before any auth
  app.all("*", (c) => c.body(JSON.stringify({ message: NOT_FOUND }), 404, JSON_TYPE));
  app.onError((e, c) => {
    if (e instanceof GatewayError) {
      return c.body(JSON.stringify({ message: e.message }), e.status as 400, {
        ...JSON_TYPE,
        ...e.headers,
      });
    }
    o.log.error({ component: "gateway", err: e }, "gateway request failed");
    return c.body(JSON.stringify({ message: "Internal Server Error" }), 500, JSON_TYPE);
  });
  return { app, invalidate: () => o.keys.invalidate() };
}

/** The route pattern that answered (bounded label set), "(no route)" for the fallback. */
function routeLabel(c: Ctx): string {
  const path = c.req.routePath;
  // the catch-all and middleware-only answers (a CORS preflight) have a wildcard pattern
  return path === "" || path.endsWith("*") ? "(no route)" : path;
}
