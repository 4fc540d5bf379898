import { ServiceError } from "../errors/service-error.js";

export { pgCode } from "../errors/service-error.js";

/**
 * Control-plane errors. Messages are safe to show to API callers (they name
 * the offending field or id, never a secret); each class is one code of
 * ServiceError (src/errors/service-error.ts), which decides the HTTP status.
 */
export class NotFoundError extends ServiceError {
  override readonly name = "NotFoundError";
  constructor(message: string) {
    super("NOT_FOUND", message);
  }
}

/** The request conflicts with current state (duplicate name, row in use). */
export class ConflictError extends ServiceError {
  override readonly name = "ConflictError";
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

/** Input that passed the schema but is wrong for this deployment or data. */
export class InvalidInputError extends ServiceError {
  override readonly name = "InvalidInputError";
  constructor(
    message: string,
    /** The offending field ("queryable_fields", "base_url"), when there is one. */
    readonly field?: string,
  ) {
    super("VALIDATION_FAILED", message, { detail: field ? { field } : undefined });
  }
}

/** (Defined beside the repositories, which check ids before a query.) */
export { isUuid } from "../db/repositories/ids.js";

/** A dependency (source database, backend key store) cannot be reached or used. */
export class UnavailableError extends ServiceError {
  override readonly name = "UnavailableError";
  constructor(message: string) {
    super("DEPENDENCY_UNAVAILABLE", message);
  }
}
