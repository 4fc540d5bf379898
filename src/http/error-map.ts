import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { codeForStatus, type ErrorCode, pgCode, ServiceError } from "../errors/service-error.js";
import type { AppEnv } from "./env.js";
import { failure } from "./envelope.js";

/** Connection-level Postgres failures: the control DB is down, not the request wrong. */
function isDbUnavailable(e: Error): boolean {
  const code = pgCode(e);
  if (code !== undefined && (code.startsWith("08") || code === "57P01" || code === "57P03")) {
    return true;
  }
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "ETIMEDOUT") return true;
  return /timeout exceeded when trying to connect|Connection terminated/i.test(e.message);
}

/**
 * The single place where thrown errors become envelopes (the app's onError).
 * A ServiceError answers what it says (its code, status, caller-safe message
 * and detail: a lookup, no per-class branch); hono's HTTPException keeps its
 * status (e.g. "Malformed JSON in request body"); anything else is logged and
 * answered with a bare 500: no stack, no detail.
 */
export function errorResponse(err: Error, c: Context<AppEnv>): Response {
  const json = (code: ErrorCode, status: number, message: string, error?: unknown) =>
    c.json(failure(code, message, error), status as ContentfulStatusCode);
  // A 500 never carries its message (it may hold row data): logged below instead.
  if (err instanceof ServiceError && err.httpStatus !== 500) {
    const r = err.response();
    return json(err.code, r.status, r.message, r.detail);
  }
  if (err instanceof HTTPException) {
    return json(codeForStatus(err.status), err.status, err.message || "Request failed");
  }
  const log = c.get("log");
  if (isDbUnavailable(err)) {
    log?.warn({ component: "http", err }, "control database unavailable");
    return json("CONTROL_DB_UNAVAILABLE", 503, "Control database unavailable");
  }
  log?.error({ component: "http", err }, "unhandled error");
  return json(err instanceof ServiceError ? err.code : "INTERNAL", 500, "Internal server error");
}
