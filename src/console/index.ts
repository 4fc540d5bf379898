import { type Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import { ApiFailure, apiClientFor, type RequestTarget } from "./api-client.js";
import { assetRoutes } from "./assets.js";
import { authLogRoutes } from "./auth-log.js";
import { backendRoutes } from "./backends.js";
import type { ConsoleDeps, ConsoleEnv } from "./context.js";
import { deadLetterRoutes } from "./dead-letters.js";
import { createFacetLookup } from "./facets.js";
import type { ConsoleHostDeps, ConsoleHostEnv } from "./host.js";
import { jobRoutes } from "./jobs.js";
import { createLagSampler } from "./lag-sampler.js";
import { loginRoutes } from "./login.js";
import { rebuildRoutes } from "./rebuild.js";
import { describeError, errorPage } from "./render.js";
import { searchRoutes } from "./search.js";
import { searchKeyRoutes } from "./search-keys.js";
import { COOKIE, createSessionStore, csrfMatches } from "./session.js";
import { statusRoutes } from "./status.js";

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Pages a search-only session may open (everything else: 403). */
const SEARCH_PATHS = new Set(["/console", "/console/", "/console/search", "/console/logout"]);

/**
 * A POST from another site is refused even before the CSRF token is read:
 * browsers send Origin (and Sec-Fetch-Site) on form posts.
 */
function sameOrigin(c: Context): boolean {
  if (c.req.header("sec-fetch-site") === "cross-site") return false;
  const origin = c.req.header("origin");
  if (!origin || origin === "null") return origin === undefined;
  try {
    // a proxy may rewrite Host; a cross-site form post cannot set X-Forwarded-Host
    const host = new URL(origin).host;
    return host === new URL(c.req.url).host || host === c.req.header("x-forwarded-host");
  } catch {
    return false;
  }
}

/** The console, built: given the API app it calls back into, the routes createApp mounts. */
export type ConsoleMount = (api: RequestTarget) => Hono<ConsoleHostEnv>;

/**
 * Builds the console once (composition root: cli/app-deps.ts): its session
 * store, lag sampler and facet lookup live here, on the process's SecretBox
 * and Typesense clients. createApp mounts the result at /console.
 */
export function createConsole(deps: ConsoleHostDeps): ConsoleMount {
  const parts = {
    sessions: createSessionStore(),
    pools: deps.pools,
    sampler: createLagSampler(deps.pools.control),
    facetFieldsOf: createFacetLookup(deps),
    log: deps.log,
  };
  return (api) => consoleRoutes({ ...parts, api });
}

/**
 * The operator console, mounted at /console by createApp. Server-rendered
 * (hono/jsx); every core form is a plain POST that works without JavaScript,
 * htmx (served from our origin) adds live refresh and search-as-you-type.
 *
 *   request -> API app (request id, log, metrics; its auth skips /console)
 *           -> security headers -> session cookie -> role -> [POST: origin,
 *              body, CSRF token] -> page, which reads and writes through
 *              `api` = the same HTTP API with the session's credential
 *
 * The console's routes sit behind one ALL handler, so the API's route table
 * (and its OpenAPI document) stays the API's.
 */
function consoleRoutes(cd: ConsoleDeps): Hono<ConsoleHostEnv> {
  const r = new Hono<ConsoleEnv>().basePath("/console");
  r.use(async (c, next) => {
    await next();
    c.header("content-security-policy", CSP);
    c.header("x-content-type-options", "nosniff");
    c.header("x-frame-options", "DENY");
    c.header("referrer-policy", "same-origin");
    if (!c.req.path.startsWith("/console/assets/")) c.header("cache-control", "no-store");
  });
  r.onError((e, c) => {
    // the API no longer accepts the session's key (revoked, expired): sign in again
    if (e instanceof ApiFailure && e.result.status === 401) {
      cd.sessions.destroy(getCookie(c, COOKIE));
      return c.redirect(`/console/login?next=${encodeURIComponent(c.req.path)}`, 303);
    }
    const d = describeError(e);
    if (d.status >= 500) c.env.log.error({ component: "console", err: e }, "console page failed");
    return errorPage(c, d.status, d.message);
  });
  assetRoutes(r);
  r.use(async (c, next) => {
    const path = c.req.path;
    if (c.req.method === "POST" && !sameOrigin(c)) {
      return errorPage(c, 403, "Cross-site form posts are refused.");
    }
    if (path === "/console/login" || path.startsWith("/console/assets/")) return next();
    const session = cd.sessions.get(getCookie(c, COOKIE));
    if (!session) {
      const back = c.req.method === "GET" ? `?next=${encodeURIComponent(path)}` : "";
      if (c.req.header("hx-request")) {
        c.header("hx-redirect", `/console/login${back}`);
        return c.body(null, 204);
      }
      return c.redirect(`/console/login${back}`, 303);
    }
    c.set("session", session);
    c.set("api", apiClientFor(cd.api, session, c.env.requestId));
    if (session.role === "search" && !SEARCH_PATHS.has(path)) {
      return errorPage(c, 403, "This key may only search: open Live search.");
    }
    if (c.req.method === "POST") {
      const form = await c.req.parseBody({ all: true });
      if (!csrfMatches(session, form._csrf)) {
        return errorPage(c, 403, "The form has expired. Reload the page and try again.");
      }
      c.set("form", form);
    }
    return next();
  });
  loginRoutes(r, cd);
  r.get("/", (c) =>
    c.redirect(c.get("session").role === "search" ? "/console/search" : "/console/status", 303),
  );
  statusRoutes(r, cd);
  backendRoutes(r);
  jobRoutes(r, cd);
  rebuildRoutes(r);
  deadLetterRoutes(r);
  authLogRoutes(r);
  searchKeyRoutes(r);
  searchRoutes(r, cd);
  r.notFound((c) => errorPage(c, 404, `No console page at ${c.req.path}.`));

  const forward = (c: Context<ConsoleHostEnv>) =>
    r.fetch(c.req.raw, { log: c.get("log"), requestId: c.get("requestId") });
  return new Hono<ConsoleHostEnv>().all("/", forward).all("/*", forward);
}
