import { z } from "@hono/zod-openapi";
import { ERROR_CODES, type ErrorCode } from "../errors/service-error.js";

/**
 * Athena's response envelope: `{status, message, data?, error?}` on every
 * response this API produces (success and error alike).
 * `error` is a short string naming the cause, or, for 400 validation errors,
 * `{issues: [{path, message, code}]}` listing every zod issue.
 * Every error envelope also carries `code`, the stable ErrorCode
 * (docs/api.md): next to `error`, not inside it, so `error` keeps the shape
 * Athena's clients already read (a string or an object).
 */
export interface SuccessEnvelope<T> {
  status: "success";
  message: string;
  data: T;
}
export interface ErrorEnvelope {
  status: "error";
  code: ErrorCode;
  message: string;
  error?: unknown;
}

export function success<T>(message: string, data: T): SuccessEnvelope<T> {
  return { status: "success", message, data };
}

export function failure(code: ErrorCode, message: string, error?: unknown): ErrorEnvelope {
  return error === undefined
    ? { status: "error", code, message }
    : { status: "error", code, message, error };
}

/** One zod issue as shown to callers: path joined with dots ("body.per_page"). */
export interface IssueView {
  path: string;
  message: string;
  code: string;
}

export function issuesOf(
  target: string,
  issues: readonly { path: readonly PropertyKey[]; message: string; code: string }[],
): IssueView[] {
  return issues.map((i) => ({
    path: [target, ...i.path.map((p) => String(p))].join("."),
    message: i.message,
    code: i.code,
  }));
}

// --- OpenAPI schemas of the envelope (shared by every route definition) ---

export const ErrorEnvelopeSchema = z
  .object({
    status: z.literal("error"),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    error: z.unknown().optional(),
  })
  .openapi("ErrorEnvelope");

export function envelopeOf<T extends z.ZodType>(data: T) {
  return z.object({ status: z.literal("success"), message: z.string(), data });
}

/** JSON response entry for createRoute's `responses`. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

const err = (description: string) => jsonResponse(ErrorEnvelopeSchema, description);

/** Error responses every authenticated route can produce. */
export const authErrors = {
  400: err("Validation failed (every zod issue listed in error.issues)"),
  401: err("API key required / invalid / inactive / expired"),
  403: err("Insufficient API key rights or API key client mismatch"),
  413: err("Body larger than server.body_limit_bytes"),
  503: err("A dependency (key store, control DB, Typesense) is unavailable"),
} as const;

export const notFoundError = { 404: err("Not found") } as const;
export const conflictError = { 409: err("Conflict") } as const;
export const timeoutError = { 504: err("Typesense timed out") } as const;
export const badGatewayError = {
  502: err("The backend answered with a redirect or a body that is not Typesense's"),
} as const;
