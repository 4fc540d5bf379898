import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { routePath } from "hono/route";
import { ServiceError } from "../errors/service-error.js";
import { createAuth } from "./auth.js";
import { withAuthLog } from "./auth-log-hook.js";
import type { AppDeps } from "./deps.js";
import type { AppEnv } from "./env.js";
import { authErrors, failure, notFoundError } from "./envelope.js";
import { errorResponse } from "./error-map.js";
import { refuseNulBytes } from "./nul-guard.js";
import { mountOpenApi } from "./openapi.js";
import { requires } from "./rights.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { authLogRoutes } from "./routes/auth-log.js";
import { backendRoutes } from "./routes/backends.js";
import { cdcStreamRoutes } from "./routes/cdc-streams.js";
import { deadLetterRoutes } from "./routes/dead-letters.js";
import { healthRoutes } from "./routes/health.js";
import { runRoutes } from "./routes/runs.js";
import { searchKeyRoutes } from "./routes/search-keys.js";
import { syncJobRoutes } from "./routes/sync-jobs.js";
import { typesenseOpsRoutes } from "./routes/typesense-ops.js";

/**
 * The whole HTTP API. Middleware order is part of the contract:
 *
 *   request id -> request log -> auth (headers only) -> body limit -> NUL guard
 *                                                         -> route (zod parses the body)
 *
 * Auth never reads the body, so bad credentials give 401 even with a
 * malformed or oversized body; only authenticated requests reach parsing.
 *
 * The collaborators (SecretBox, Typesense clients, search bindings, auth log,
 * metrics, readiness probes, console) come in `deps`, built by the
 * composition root (cli/app-deps.ts); the app builds none of them.
 * What auth enforces is the right the matched route declares with
 * `requires` (rights.ts), not a match on the path.
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  const policy = { box: deps.box, allowHttp: deps.config.typesense.allow_http };
  const { clients, bindings } = deps;

  // Incoming X-Request-Id is kept when it is short and [\w-=] only; else a UUID.
  app.use(requestId());
  app.use(async (c, next) => {
    const log = deps.log.child({ reqId: c.var.requestId });
    c.set("log", log);
    const started = performance.now();
    await next();
    if (deps.metrics) {
      // route pattern ("/typesense/sync-jobs/:job_id"), never the raw path: bounded labels
      const route = routePath(c);
      const labels = { method: c.req.method, route };
      deps.metrics.httpRequests.inc({ ...labels, status: String(c.res.status) });
      deps.metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    }
    // Path only: the query string may carry ?api_key=.
    log.info(
      {
        component: "http",
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 100) / 100,
      },
      "request",
    );
  });
  // Mounted before the API's auth, body limit and NUL guard: the gateway answers every
  // /typesense-api path itself (its own key check first, Typesense's error shape).
  if (deps.gateway) app.route("/typesense-api", deps.gateway.app);
  const auth = createAuth(deps);
  // refusals and admin calls go to the buffered auth log (never awaited)
  app.use(withAuthLog(deps.authLog, auth.middleware));
  // A successful write through this API drops what it could have made stale:
  // each writing route declares which caches (`invalidates`, invalidation.ts).
  app.use(async (c, next) => {
    c.set("invalidate", (caches) => {
      if (caches.includes("credentials")) auth.invalidate();
      if (caches.includes("bindings")) bindings.invalidate();
      // the gateway caches verified search keys WITH their job bindings: both kinds of write
      deps.gateway?.invalidate();
    });
    await next();
  });
  app.use(
    bodyLimit({
      maxSize: deps.config.server.body_limit_bytes,
      onError: (c) =>
        c.json(
          failure(
            "BODY_TOO_LARGE",
            "Request body too large",
            `limit is ${deps.config.server.body_limit_bytes} bytes`,
          ),
          413,
        ),
    }),
  );

  // NUL in a path segment, query parameter or JSON string: 400 naming the field
  app.use(refuseNulBytes);

  app.route("/", healthRoutes(deps));
  app.route("/admin", apiKeyRoutes(deps));
  app.route("/admin", authLogRoutes(deps));
  app.route("/admin", searchKeyRoutes(deps));
  app.route("/typesense/backends", backendRoutes(deps, policy));
  app.route("/typesense/sync-jobs", syncJobRoutes(deps));
  app.route("/typesense/sync-runs", runRoutes(deps));
  app.route("/typesense/cdc-streams", cdcStreamRoutes(deps));
  app.route("/typesense/dead-letters", deadLetterRoutes(deps, policy, clients));
  // seed routes; after /typesense/backends, whose sub-app has no POST /test
  app.route("/typesense", typesenseOpsRoutes(deps, policy, clients, bindings));
  // operator UI; calls back into this app; its session auth decides (rights.ts)
  app.use("/console/*", requires("console")); // matches /console itself too
  app.route("/console", deps.console(app));

  const metrics = deps.metrics;
  // Prometheus text format; authenticated like the control plane (scrape with a
  // proxy key); its labels name every client's jobs, so not for client-bound keys.
  // Declared even without metrics (then 404), so its right does not depend on them.
  app.openapi(
    createRoute({
      middleware: requires("gateway.typesense_proxy", { unbound: true }),
      method: "get",
      path: "/metrics",
      tags: ["metrics"],
      summary: "Prometheus metrics (not for client-bound keys; 404 when metrics are off)",
      responses: {
        200: { content: { "text/plain": { schema: z.string() } }, description: "Metrics" },
        ...authErrors,
        ...notFoundError,
      },
    }),
    async (c) => {
      if (!metrics) {
        throw new ServiceError("ROUTE_NOT_FOUND", "Not found", {
          detail: "metrics are not enabled",
        });
      }
      return c.text(await metrics.registry.metrics(), 200, {
        "content-type": metrics.registry.contentType,
      });
    },
  );
  mountOpenApi(app);

  app.notFound((c) =>
    c.json(
      failure("ROUTE_NOT_FOUND", "Not found", `no route for ${c.req.method} ${c.req.path}`),
      404,
    ),
  );
  app.onError((err, c) => errorResponse(err, c));
  return app;
}
