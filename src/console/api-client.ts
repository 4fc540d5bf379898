import type { Session } from "./session.js";

/** Anything with Hono's `request` (the app from createApp). */
export interface RequestTarget {
  request(path: string, init?: RequestInit): Response | Promise<Response>;
}

/** The API's envelope as the console reads it. */
export interface ApiResult<T = unknown> {
  status: number;
  ok: boolean;
  message: string;
  data: T;
  error: unknown;
}

/**
 * The console's only way to read or change control-plane state: an in-process
 * request to the same HTTP API operators script against, carrying the
 * session's credential. Auth, rights, validation, cache invalidation, metrics
 * and logs are therefore exactly the API's; the console adds none of its own
 * logic. The request id of the page request is passed on, so one id ties the
 * page to the API calls it made.
 */
export interface ApiClient {
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResult<T>>;
}

export function apiClientFor(
  target: RequestTarget,
  session: Pick<Session, "key" | "client">,
  requestId: string,
): ApiClient {
  return {
    async call<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
      const headers: Record<string, string> = {
        "x-athena-key": session.key,
        "x-request-id": requestId,
      };
      if (session.client) headers["x-athena-client"] = session.client;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await target.request(path, {
        method,
        headers,
        ...(body === undefined
          ? {}
          : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      let env: { message?: string; data?: unknown; error?: unknown } = {};
      try {
        env = JSON.parse(text) as typeof env;
      } catch {
        env = { message: `unexpected response (${res.status})` };
      }
      return {
        status: res.status,
        ok: res.ok,
        message: env.message ?? "",
        data: env.data as T,
        error: env.error,
      };
    },
  };
}

/** An API answer that is not a success, to be shown to the operator. */
export class ApiFailure extends Error {
  override readonly name = "ApiFailure";
  constructor(readonly result: ApiResult) {
    super(result.message || `request failed (${result.status})`);
  }
}

/** The data of a successful call; otherwise throws ApiFailure (the page shows the message). */
export async function must<T>(p: Promise<ApiResult<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new ApiFailure(r as ApiResult);
  return r.data;
}
