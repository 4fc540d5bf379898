import { type ErrorCode, ServiceError } from "../errors/service-error.js";

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
 * | rejected | any other 4xx (bad request, auth, 404, 409); | no        |
 * |          | a 500 alias/collection name conflict         |           |
 * | reply    | not a Typesense answer: a 3xx (redirects are | 3xx no,   |
 * |          | never followed), or a 2xx body that is not   | body yes  |
 * |          | the JSON Typesense sends (HTML, empty, ...)  |           |
 *
 * 429 is retried (unlike typesense-js): for a sync worker a rate limit is a
 * reason to slow down, not to fail the run; the backoff does the slowing.
 */
export type TypesenseErrorKind = "network" | "timeout" | "server" | "rejected" | "reply";

/** The code (and with it the HTTP status of the API) of each kind. */
const CODE_OF_KIND: Record<TypesenseErrorKind, ErrorCode> = {
  network: "TYPESENSE_UNAVAILABLE",
  server: "TYPESENSE_UNAVAILABLE",
  timeout: "TYPESENSE_TIMEOUT",
  rejected: "TYPESENSE_REJECTED",
  reply: "TYPESENSE_BAD_REPLY",
};

/** What the API says for each kind; the error's own message goes in `error`. */
const API_MESSAGE: Partial<Record<TypesenseErrorKind, string>> = {
  network: "Typesense unavailable",
  server: "Typesense unavailable",
  timeout: "Typesense timed out",
  reply: "the backend did not answer like Typesense",
};

export class TypesenseError extends ServiceError {
  override readonly name = "TypesenseError";
  /** HTTP status when Typesense answered (not the status this API answers: httpStatus). */
  readonly status: number | undefined;
  readonly kind: TypesenseErrorKind;
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
    super(CODE_OF_KIND[init.kind], init.message, {
      retryable: init.retryable ?? init.kind !== "rejected",
      cause: init.cause,
    });
    this.kind = init.kind;
    this.status = init.status;
    this.node = init.node;
  }

  /**
   * rejected: 400 with Typesense's words (the caller's request or the
   * backend's key is wrong). Otherwise a fixed message and this error's
   * message as detail; it names the status, never the remote's body.
   */
  override response(): { status: number; message: string; detail: unknown } {
    const api = API_MESSAGE[this.kind];
    if (api === undefined) {
      return {
        status: this.httpStatus,
        message: this.message,
        detail: { typesense_status: this.status ?? null },
      };
    }
    return { status: this.httpStatus, message: api, detail: this.message };
  }
}

/** True for errors worth another attempt (see the table above). */
export function isRetryable(err: unknown): boolean {
  return err instanceof TypesenseError && err.retryable;
}

const TRANSIENT_422 = /running out of resource|Another collection update operation is in progress/i;

/**
 * 500s that are the request's fault, not the node's: the same request fails the same way on
 * every node and every attempt (PUT /aliases/:a over a collection's name).
 */
const PERMANENT_500 = /conflicts with an existing collection name/;

/** Builds the error for a non-2xx answer; `message` is Typesense's own text. */
export function errorForStatus(status: number, message: string, node?: string): TypesenseError {
  if (status === 500 && PERMANENT_500.test(message)) {
    return new TypesenseError({ message, status, kind: "rejected", node });
  }
  if (status >= 500 || status === 429 || (status === 422 && TRANSIENT_422.test(message))) {
    return new TypesenseError({ message, status, kind: "server", retryable: true, node });
  }
  if (status === 408) return new TypesenseError({ message, status, kind: "timeout", node });
  return new TypesenseError({ message, status, kind: "rejected", node });
}

/** Longest part of a Typesense `message` that is passed on. */
const MAX_MESSAGE = 200;

/**
 * Typesense answers `{"message": "..."}`: that message, cut to 200 chars.
 * Anything else (HTML of a proxy, an empty body, other JSON) is never passed
 * on, only its status: a backend URL comes from the caller, so its answer is
 * untrusted text that must not be echoed back (SSRF read-out).
 */
export function messageOf(body: string, status: number): string {
  try {
    const v = JSON.parse(body) as { message?: unknown };
    if (typeof v?.message === "string") return v.message.slice(0, MAX_MESSAGE);
  } catch {
    // not JSON: fall through
  }
  return `HTTP ${status}`;
}

/**
 * A 3xx answer. Redirects are never followed (fetch `redirect: "manual"`;
 * node:http does not follow): an https:// node redirecting to http:// or to
 * another host would otherwise receive the API key. Not retryable.
 */
export function redirectError(status: number, what: string, node: string): TypesenseError {
  return new TypesenseError({
    message: `${what}: ${node} answered with a redirect (HTTP ${status}); redirects are not followed, set the node URL to the final address`,
    kind: "reply",
    status,
    retryable: false,
    node,
  });
}

/** A 2xx answer whose body is not what Typesense sends (`expected` names it). */
export function badReplyError(
  what: string,
  node: string | undefined,
  status: number,
  expected: string,
): TypesenseError {
  return new TypesenseError({
    message: `${what}: ${node ?? "the backend"} answered HTTP ${status} with a body that is not ${expected}; is this a Typesense node?`,
    kind: "reply",
    status,
    node,
  });
}

/** JSON.parse of a Typesense answer; a body that is not JSON is a badReplyError. */
export function parseReply(
  r: { status: number; body: string; node: string },
  what: string,
  parse: (text: string) => unknown = JSON.parse,
): unknown {
  try {
    return parse(r.body);
  } catch {
    throw badReplyError(what, r.node, r.status, "JSON");
  }
}
