/**
 * A failed Typesense call as a whole (not a rejected import line, which is an
 * ImportLineResult). `retryable` decides whether withRetry tries again:
 *
 * | kind     | when                                         | retryable |
 * |----------|----------------------------------------------|-----------|
 * | network  | connection refused/reset, DNS, bad response  | yes       |
 * | timeout  | no complete response within timeoutMs, 408   | yes       |
 * | server   | 5xx incl. 503 "Not Ready or Lagging"; 429    | yes       |
 * |          | rate limit; 422 out-of-resource / concurrent |           |
 * |          | schema alter (both clear up by themselves)   |           |
 * | rejected | any other 4xx (bad request, auth, 404, 409)  | no        |
 *
 * 429 is retried (unlike typesense-js): for a sync worker a rate limit is a
 * reason to slow down, not to fail the run; the backoff does the slowing.
 */
export type TypesenseErrorKind = "network" | "timeout" | "server" | "rejected";

export class TypesenseError extends Error {
  override readonly name = "TypesenseError";
  /** HTTP status when Typesense answered. */
  readonly status: number | undefined;
  readonly kind: TypesenseErrorKind;
  readonly retryable: boolean;
  /** Base URL of the node that failed. */
  readonly node: string | undefined;

  constructor(init: {
    message: string;
    kind: TypesenseErrorKind;
    status?: number;
    retryable?: boolean;
    node?: string;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status;
    this.retryable = init.retryable ?? init.kind !== "rejected";
    this.node = init.node;
  }
}

/** True for errors worth another attempt (see the table above). */
export function isRetryable(err: unknown): boolean {
  return err instanceof TypesenseError && err.retryable;
}

const TRANSIENT_422 = /running out of resource|Another collection update operation is in progress/i;

/** Builds the error for a non-2xx answer; `message` is Typesense's own text. */
export function errorForStatus(status: number, message: string, node?: string): TypesenseError {
  if (status >= 500 || status === 429 || (status === 422 && TRANSIENT_422.test(message))) {
    return new TypesenseError({ message, status, kind: "server", retryable: true, node });
  }
  if (status === 408) return new TypesenseError({ message, status, kind: "timeout", node });
  return new TypesenseError({ message, status, kind: "rejected", node });
}

/** Typesense answers `{"message": "..."}`; anything else is shown as sent. */
export function messageOf(body: string, status: number): string {
  try {
    const v = JSON.parse(body) as { message?: unknown };
    if (typeof v?.message === "string") return v.message;
  } catch {
    // not JSON: fall through
  }
  const text = body.trim();
  return text === "" ? `HTTP ${status}` : text.slice(0, 500);
}
