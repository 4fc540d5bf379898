import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * An error whose message is safe to show to the caller. Thrown by handlers
 * and middleware; the app's single onError turns it into the envelope.
 * `error` is the machine-readable detail (e.g. zod issues) for the envelope.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly error?: unknown,
  ) {
    super(message);
  }
}
