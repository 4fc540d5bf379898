/**
 * One base for every error the service names (model: powersync-service's
 * ServiceError and its documented ErrorCode list). An error carries:
 *
 * - `code`: a stable string callers and alerts may match on; it never
 *   changes meaning once released, and docs/api.md lists every one
 *   (test/errors/codes-documented.test.ts fails when one is missing);
 * - `httpStatus`: what the HTTP API answers (the code's default, unless the
 *   thrower knows better);
 * - `retryable`: whether the same request may succeed later unchanged;
 * - `detail`: caller-safe, machine-readable detail for the envelope's `error`.
 *
 * The message is always safe to show to the caller: it names the offending
 * field or id, never a secret or a remote body. This module is a shared leaf
 * (it imports nothing of the product), so every module may use it.
 */

export interface ErrorCodeInfo {
  /** Default HTTP status of the code. */
  status: number;
  /** Default retryability: the same request may succeed later. */
  retryable: boolean;
}

const c = (status: number, retryable = false): ErrorCodeInfo => ({ status, retryable });

/** Every code, with its default status and retryability (docs/api.md explains each). */
export const ERROR_CODES = {
  // 400: the request is wrong
  VALIDATION_FAILED: c(400),
  SOURCE_SCHEMA_INVALID: c(400),
  DOCUMENT_SPEC_INVALID: c(400),
  UNKNOWN_SOURCE_CLIENT: c(400),
  TYPESENSE_REJECTED: c(400),
  // 401/403: who is asking
  AUTH_REQUIRED: c(401),
  AUTH_INVALID: c(401),
  AUTH_INACTIVE: c(401),
  AUTH_EXPIRED: c(401),
  RIGHTS_INSUFFICIENT: c(403),
  CLIENT_MISMATCH: c(403),
  SHARED_BACKEND_READ_ONLY: c(403),
  // 404/409: the state of the control data
  NOT_FOUND: c(404),
  ROUTE_NOT_FOUND: c(404),
  JOB_NOT_FOUND: c(404),
  JOB_DISABLED: c(409),
  COLLECTION_NOT_OWNED: c(409),
  DOCUMENT_REBUILD_REQUIRED: c(409),
  CONFLICT: c(409),
  LEASE_CONFLICT: c(409, true),
  // request framing
  BODY_TOO_LARGE: c(413),
  UNSUPPORTED_MEDIA_TYPE: c(415),
  HTTP_ERROR: c(400),
  // dependencies
  TYPESENSE_BAD_REPLY: c(502),
  TYPESENSE_UNAVAILABLE: c(503, true),
  TYPESENSE_TIMEOUT: c(504, true),
  DEPENDENCY_UNAVAILABLE: c(503, true),
  AUTH_UNAVAILABLE: c(503, true),
  CONTROL_DB_UNAVAILABLE: c(503, true),
  SECRET_BOX_FAILED: c(503),
  NOT_READY: c(503, true),
  INTERNAL: c(500),
  // background work (never answered by a route today; logged and stored as last_error)
  LEASE_LOST: c(409, true),
  STREAM_STOPPED: c(503, true),
  STREAM_ATTACHED: c(503, true),
  CDC_FAILED: c(503, true),
  CDC_SETUP_FAILED: c(503),
  CDC_SLOT_LOST: c(503, true),
  CDC_WATCHDOG: c(503, true),
  CDC_DECODE_FAILED: c(503),
  // startup and row data (500: never answered with their message, see http/error-map.ts)
  CONFIG_INVALID: c(500),
  MIGRATION_FAILED: c(500),
  DOCUMENT_VALUE_UNREPRESENTABLE: c(500),
  PG_ARRAY_INVALID: c(500),
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ServiceErrorOptions {
  /** Overrides the code's default HTTP status. */
  httpStatus?: number;
  /** Overrides the code's default retryability. */
  retryable?: boolean;
  /** Caller-safe detail for the envelope's `error`. */
  detail?: unknown;
  cause?: unknown;
}

export class ServiceError extends Error {
  override name = "ServiceError";
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly detail: unknown;

  constructor(code: ErrorCode, message: string, options: ServiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const info = ERROR_CODES[code];
    this.code = code;
    this.httpStatus = options.httpStatus ?? info.status;
    this.retryable = options.retryable ?? info.retryable;
    this.detail = options.detail;
  }

  /**
   * What the HTTP API answers. The default is status, message and detail as
   * they are; a class whose message is for logs overrides it (TypesenseError).
   */
  response(): { status: number; message: string; detail: unknown } {
    return { status: this.httpStatus, message: this.message, detail: this.detail };
  }
}

/** The code an HTTP status falls back to when nothing named the error (hono's own). */
export function codeForStatus(status: number): ErrorCode {
  if (status === 404) return "NOT_FOUND";
  if (status === 413) return "BODY_TOO_LARGE";
  if (status === 415) return "UNSUPPORTED_MEDIA_TYPE";
  if (status === 400) return "VALIDATION_FAILED";
  return status >= 500 ? "INTERNAL" : "HTTP_ERROR";
}

/** Postgres (or node net) error code of an error, if any: the one helper for it. */
export function pgCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
