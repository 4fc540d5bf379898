import type { Logger } from "../lifecycle/logger.js";

/** Shapes of TypesenseHttp (http.ts): options, one request, its answers. */
export interface HttpOptions {
  nodes: readonly string[];
  apiKey: string;
  timeoutMs: number;
  log?: Logger;
  /** How long a node that failed at the network level is skipped. Default 10 s. */
  nodeCooldownMs?: number;
}

export interface RequestSpec {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Path with its segments already encoded, e.g. `/collections/${enc(name)}`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /**
   * A Buffer body goes through node:http (imports: one write of the bytes, no
   * fetch body copy); a string body, and every body-less call, through fetch.
   */
  body?: string | Buffer;
  /** Default application/json when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
  /** Overrides the backend's timeout for a slow call (big imports/exports). */
  timeoutMs?: number;
  /** Statuses returned to the caller instead of thrown (e.g. 404 for getCollection). */
  accept?: readonly number[];
}

export interface HttpResponse {
  status: number;
  body: string;
  node: string;
}

export interface StreamResponse {
  status: number;
  body: ReadableStream<Uint8Array>;
  node: string;
  /** Aborts the transfer (stop reading early). */
  cancel: () => void;
}
