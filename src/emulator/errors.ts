/**
 * An error that maps 1:1 to a Typesense error response: `status` and `{"message": message}`.
 * Handlers throw it; the server turns it into the response. Anything else is a 500.
 */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** Result of writing one document: success with the stored doc, or a per-document error. */
export type WriteResult =
  | { ok: true; id: string; doc: Record<string, unknown> }
  | { ok: false; code: number; error: string };

export function fail(code: number, error: string): WriteResult {
  return { ok: false, code, error };
}
