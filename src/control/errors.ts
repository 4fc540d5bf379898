/**
 * Control-plane errors. Messages are safe to show to API callers (they name
 * the offending field or id, never a secret); the HTTP layer maps each class
 * to one status code.
 */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

/** The request conflicts with current state (duplicate name, row in use). */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
}

/** Input that passed the schema but is wrong for this deployment or data. */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  constructor(
    message: string,
    /** The offending field ("queryable_fields", "base_url"), when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a syntactically valid uuid; a malformed id can never match a row. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** Postgres error code of a pg error, if any. */
export function pgCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A dependency (source database, backend key store) cannot be reached or used. */
export class UnavailableError extends Error {
  override readonly name = "UnavailableError";
}
