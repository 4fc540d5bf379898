import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CatalogError } from "../catalog/errors.js";
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  UnavailableError,
} from "../control/errors.js";
import { SecretBoxError } from "../control/secret-box.js";
import { JobNotFoundError, RunConflictError } from "../coordination/request-run.js";
import { UnknownClientError } from "../db/pool.js";
import { TypesenseError } from "../typesense/errors.js";
import type { AppEnv } from "./env.js";
import { failure } from "./envelope.js";
import { ApiError } from "./errors.js";

/** Connection-level Postgres failures: the control DB is down, not the request wrong. */
function isDbUnavailable(e: Error): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && (code.startsWith("08") || code === "57P01" || code === "57P03")) {
    return true;
  }
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "ETIMEDOUT") return true;
  return /timeout exceeded when trying to connect|Connection terminated/i.test(e.message);
}

/**
 * The single place where thrown errors become envelopes (the app's onError).
 * Known classes map to their status with their (caller-safe) message;
 * anything else is logged and answered with a bare 500: no stack, no detail.
 */
export function errorResponse(err: Error, c: Context<AppEnv>): Response {
  const json = (status: ContentfulStatusCode, message: string, error?: unknown) =>
    c.json(failure(message, error), status);
  if (err instanceof ApiError) return json(err.status, err.message, err.error);
  if (err instanceof HTTPException) {
    // e.g. hono's JSON validator: "Malformed JSON in request body"
    return json(err.status as ContentfulStatusCode, err.message || "Request failed");
  }
  if (err instanceof NotFoundError || err instanceof JobNotFoundError) {
    return json(404, err.message);
  }
  if (err instanceof ConflictError || err instanceof RunConflictError)
    return json(409, err.message);
  if (err instanceof InvalidInputError) {
    return json(400, err.message, err.field ? { field: err.field } : undefined);
  }
  if (err instanceof CatalogError) {
    return json(400, err.message, err.column === undefined ? undefined : { column: err.column });
  }
  if (err instanceof UnavailableError || err instanceof SecretBoxError)
    return json(503, err.message);
  if (err instanceof UnknownClientError) {
    return json(400, err.message, { field: "source_client_name" });
  }
  if (err instanceof TypesenseError) {
    // 4xx: the caller's request (or the backend's key) is wrong -> 400 with Typesense's words
    if (err.kind === "rejected") {
      return json(400, err.message, { typesense_status: err.status ?? null });
    }
    if (err.kind === "timeout") return json(504, "Typesense timed out", err.message);
    // a redirect or a body that is not Typesense's: a bad gateway; the message
    // names the status, never the remote's body (typesense/errors.ts)
    if (err.kind === "reply") {
      return json(502, "the backend did not answer like Typesense", err.message);
    }
    return json(503, "Typesense unavailable", err.message);
  }
  const log = c.get("log");
  if (isDbUnavailable(err)) {
    log?.warn({ component: "http", err }, "control database unavailable");
    return json(503, "Control database unavailable");
  }
  log?.error({ component: "http", err }, "unhandled error");
  return json(500, "Internal server error");
}
