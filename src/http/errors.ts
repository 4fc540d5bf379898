import { type ErrorCode, ServiceError } from "../errors/service-error.js";

/**
 * An error the HTTP layer itself raises (auth, route checks), whose message
 * is safe to show to the caller. `detail` is the envelope's machine-readable
 * `error`. The code decides the status (src/errors/service-error.ts).
 */
export class ApiError extends ServiceError {
  override readonly name = "ApiError";
  constructor(code: ErrorCode, message: string, detail?: unknown) {
    super(code, message, { detail });
  }
}
