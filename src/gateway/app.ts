import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { AuthLogWriter } from "../control/auth-log-writer.js";
import type { TypesenseClients } from "../control/typesense-clients.js";
import type { Logger } from "../lifecycle/logger.js";
import type { Metrics } from "../metrics/index.js";
import { GatewayError, NOT_FOUND } from "./errors.js";
import { multiSearch, type Passed, readCollection, searchCollection } from "./forward.js";
import { type Ctx, createGuard, type GatewayEnv, type Guard } from "./guard.js";
import type { GatewayKeys } from "./keys.js";
import type { RateLimit } from "./rate-limit.js";

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

export type { GatewayEnv } from "./guard.js";

const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

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
  const guard = createGuard(o);
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
  const m = o.metrics;
  if (m) {
    app.use("*", async (c, next) => {
      const started = performance.now();
      await next();
      const labels = { key: c.get("keyLabel") ?? "none", route: routeLabel(c) };
      m.gatewayRequests.inc({ ...labels, status: String(c.res.status) });
      m.gatewayDuration.observe(labels, (performance.now() - started) / 1000);
    });
  }
  searchRoutes(app, o, guard);
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

/** A JSON object body (a POST search), or 400 "Bad JSON." like Typesense. */
async function jsonObject(c: Ctx): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  let body: unknown;
  try {
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new GatewayError(400, "Bad JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GatewayError(400, "Bad JSON.");
  }
  return body as Record<string, unknown>;
}

/** The routes; each verifies its key (guard.verify) before its body, if any, is read. */
function searchRoutes(app: Hono<GatewayEnv>, o: GatewayOptions, guard: Guard): void {
  const limitBody = bodyLimit({
    maxSize: o.bodyLimitBytes,
    onError: () => {
      throw new GatewayError(413, "Request body too large.");
    },
  });
  // Typesense's /health needs no key; this answers for the sidecar itself.
  app.get("/health", (c) => c.body('{"ok":true}', 200, JSON_TYPE));

  const SEARCH = "/collections/:name/documents/search";
  const search = async (c: Ctx, body: Record<string, unknown>) => {
    const { p, b } = guard.scoped(c, SEARCH, c.req.param("name"));
    return pass(c, await searchCollection(o.clients, p, b, { ...body, ...queryParams(c) }));
  };
  app.get(SEARCH, guard.verify(SEARCH), (c) => search(c, {}));
  app.post(SEARCH, guard.verify(SEARCH), limitBody, async (c) => search(c, await jsonObject(c)));

  const MULTI = "/multi_search";
  app.post(MULTI, guard.verify(MULTI), limitBody, async (c) => {
    const p = c.get("searchKey")!;
    try {
      return pass(c, await multiSearch(o.clients, p, await c.req.text(), queryParams(c)));
    } catch (e) {
      if (e instanceof GatewayError && e.status === 404) {
        guard.refuse(c, MULTI, p.publicId, e, "collection not in the key's scope");
      }
      throw e;
    }
  });

  const COLLECTION = "/collections/:name";
  app.get(COLLECTION, guard.verify(COLLECTION), async (c) => {
    const { b } = guard.scoped(c, COLLECTION, c.req.param("name"));
    return pass(c, await readCollection(o.clients, b));
  });
}

/** The route pattern that answered (bounded label set), "(no route)" for the fallback. */
function routeLabel(c: Ctx): string {
  const path = c.req.routePath;
  // the catch-all and middleware-only answers (a CORS preflight) have a wildcard pattern
  return path === "" || path.endsWith("*") ? "(no route)" : path;
}
