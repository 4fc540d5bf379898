import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppDeps } from "./deps.js";
import type { AppEnv } from "./env.js";
import { failure } from "./envelope.js";
import { ApiError } from "./errors.js";
import { healthRoutes } from "./routes/health.js";

/**
 * The whole HTTP API. Middleware order is part of the contract:
 *
 *   request id -> request log -> auth (headers only) -> body limit -> route
 *                                                         (zod parses the body)
 *
 * Auth never reads the body, so bad credentials give 401 even with a
 * malformed or oversized body; only authenticated requests reach parsing.
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  // Incoming X-Request-Id is kept when it is short and [\w-=] only; else a UUID.
  app.use(requestId());
  app.use(async (c, next) => {
    const log = deps.log.child({ reqId: c.var.requestId });
    c.set("log", log);
    const started = performance.now();
    await next();
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
  app.use(
    bodyLimit({
      maxSize: deps.config.server.body_limit_bytes,
      onError: (c) =>
        c.json(
          failure(
            "Request body too large",
            `limit is ${deps.config.server.body_limit_bytes} bytes`,
          ),
          413,
        ),
    }),
  );

  app.route("/", healthRoutes(deps));

  app.notFound((c) =>
    c.json(failure("Not found", `no route for ${c.req.method} ${c.req.path}`), 404),
  );
  app.onError((err, c) => errorResponse(err, c));
  return app;
}

/** The single place where thrown errors become envelopes. Never leaks stacks. */
function errorResponse(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ApiError) return c.json(failure(err.message, err.error), err.status);
  if (err instanceof HTTPException) {
    // e.g. hono's JSON validator: "Malformed JSON in request body"
    const status = err.status as ContentfulStatusCode;
    return c.json(failure(err.message || "Request failed"), status);
  }
  const log = c.get("log");
  log?.error({ component: "http", err }, "unhandled error");
  return c.json(failure("Internal server error"), 500);
}
