/**
 * An answer of the gateway in Typesense's shape: `{"message": "..."}` with
 * Typesense's status codes and texts (reference/typesense-api.md sections 0, 1, 8).
 */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Typesense's text for a missing or wrong key (also expired, inactive: Typesense says the same). */
export const FORBIDDEN = "Forbidden - a valid `x-typesense-api-key` header must be sent.";
export const NOT_FOUND = "Not Found";
export const RATE_LIMITED = "Rate limit exceeded or blocked";

export const unauthorized = () => new GatewayError(401, FORBIDDEN);
export const notFound = () => new GatewayError(404, NOT_FOUND);
export const badRequest = (message: string) => new GatewayError(400, message);
