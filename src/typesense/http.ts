import { errorForStatus, messageOf, redirectError, TypesenseError } from "./errors.js";
import { NodePool } from "./http-failover.js";
import { createKeepAliveAgents, exchangeBuffer } from "./http-node.js";
import type { HttpOptions, HttpResponse, RequestSpec, StreamResponse } from "./http-types.js";

export type { HttpOptions, HttpResponse, RequestSpec, StreamResponse } from "./http-types.js";

/**
 * Raw HTTP to a set of Typesense nodes (Node 20's fetch; node:http with a
 * keep-alive agent for Buffer bodies, i.e. imports, where fetch cost ~3x the
 * CPU per request). Both paths share the node choice, failover, timeout,
 * abort/close and error classification below.
 *
 * Nodes are used round-robin; a node that fails at the network level or with
 * 5xx is skipped for nodeCooldownMs. A request fails over to the next node
 * within the same call only when the connection could not be opened (nothing
 * was sent); anything else (reset mid-request, timeout, 5xx) surfaces as a
 * retryable TypesenseError so that withRetry, not this layer, owns the attempt
 * count and the backoff. The node choice and failover live in NodePool
 * (http-failover.ts).
 */
export class TypesenseHttp {
  readonly #pool: NodePool;
  readonly #opts: HttpOptions;
  /** Controllers of requests in flight, aborted by close(). */
  readonly #inflight = new Set<AbortController>();
  #closed: Error | undefined;
  readonly #agents = createKeepAliveAgents();

  constructor(opts: HttpOptions) {
    if (opts.nodes.length === 0) throw new Error("Typesense backend needs at least one node URL");
    this.#pool = new NodePool(opts);
    this.#opts = opts;
  }

  get nodes(): readonly string[] {
    return this.#pool.nodes;
  }

  close(): void {
    this.#closed = new Error("Typesense backend closed");
    for (const ctl of this.#inflight) ctl.abort(this.#closed);
    this.#inflight.clear();
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }

  async request(spec: RequestSpec): Promise<HttpResponse> {
    if (Buffer.isBuffer(spec.body)) return this.#requestBuffer(spec, spec.body);
    const { res, node, idx, timeout, clear } = await this.#open(spec, false);
    let body: string;
    try {
      body = await this.#read(() => res.text(), node, spec, timeout);
    } finally {
      clear();
    }
    if ((res.status >= 200 && res.status < 300) || spec.accept?.includes(res.status)) {
      return { status: res.status, body, node };
    }
    const err = errorForStatus(res.status, messageOf(body, res.status), node);
    // a 5xx marks the node down unless it is the request's own fault (a name conflict)
    if (res.status >= 500 && err.retryable) this.#pool.markDown(idx);
    throw err;
  }

  /**
   * Like request, but hands over the body stream of a 2xx answer (export). The
   * timeout covers the wait for the response headers only; the reader guards
   * each chunk with `chunkTimeout` (a long export is fine, a stalled one not).
   */
  async stream(spec: RequestSpec): Promise<StreamResponse> {
    const { res, node, idx, timeout, cancel } = await this.#open(spec, true);
    if (res.status >= 200 && res.status < 300) {
      const body = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      return { status: res.status, body, node, cancel };
    }
    const text = await this.#read(() => res.text(), node, spec, timeout);
    cancel();
    const err = errorForStatus(res.status, messageOf(text, res.status), node);
    // a 5xx marks the node down unless it is the request's own fault (a name conflict)
    if (res.status >= 500 && err.retryable) this.#pool.markDown(idx);
    throw err;
  }

  /** Wraps a failure while a stream is read, in the same error classes. */
  streamError(err: unknown, node: string, spec: RequestSpec): unknown {
    return this.#wrap(err, node, spec, false);
  }

  /** GET path on one specific node (health checks), no failover, no cooldown. */
  async requestNode(node: string, path: string, timeoutMs: number): Promise<HttpResponse> {
    const spec: RequestSpec = { method: "GET", path, timeoutMs };
    const { res, timeout, clear } = await this.#fetch(node, spec, false);
    try {
      return {
        status: res.status,
        body: await this.#read(() => res.text(), node, spec, timeout),
        node,
      };
    } finally {
      clear();
    }
  }

  /** Sends to a healthy node; fails over only when nothing was sent (see class comment). */
  #open(spec: RequestSpec, headersOnly: boolean) {
    return this.#pool.withFailover(async (node, idx) => ({
      ...(await this.#fetch(node, spec, headersOnly)),
      node,
      idx,
    }));
  }

  /**
   * request() for a Buffer body over node:http. Same rules as #open + request:
   * failover only when nothing was sent, 5xx/network marks the node down,
   * non-2xx (not accepted) throws errorForStatus; the timer covers the whole
   * exchange (headers and body), like request()'s.
   */
  async #requestBuffer(spec: RequestSpec, body: Buffer): Promise<HttpResponse> {
    const { res, node, idx } = await this.#pool.withFailover(
      async (node, idx) => ({ res: await this.#send(node, spec, body), node, idx }),
      // like #open: only failures before the response headers mark the node
      // down (a body cut short after them does not, as on the fetch path)
      (err) => !afterHeaders.has(err),
    );
    if (isRedirect(res.status))
      throw redirectError(res.status, `${spec.method} ${spec.path}`, node);
    if ((res.status >= 200 && res.status < 300) || spec.accept?.includes(res.status)) {
      return { status: res.status, body: res.body, node };
    }
    const err = errorForStatus(res.status, messageOf(res.body, res.status), node);
    // a 5xx marks the node down unless it is the request's own fault (a name conflict)
    if (res.status >= 500 && err.retryable) this.#pool.markDown(idx);
    throw err;
  }

  /** One node:http exchange; failures wrapped like #fetch's. */
  async #send(
    node: string,
    spec: RequestSpec,
    body: Buffer,
  ): Promise<{ status: number; body: string }> {
    const x = this.#begin(node, spec);
    let headers = false;
    try {
      return await exchangeBuffer(x.url, {
        method: spec.method,
        apiKey: this.#opts.apiKey,
        contentType: spec.contentType ?? "application/json",
        body,
        signal: x.ctl.signal,
        agents: this.#agents,
        onHeaders: () => {
          headers = true;
        },
      });
    } catch (err) {
      const wrapped = this.#wrap(err, node, spec, x.timedOut());
      if (headers && typeof wrapped === "object" && wrapped !== null) afterHeaders.add(wrapped);
      throw wrapped;
    } finally {
      x.release();
    }
  }

  /**
   * The URL and the controller of one request, fed by the timer, the caller's
   * signal and close(); release() removes the listeners (no AbortSignal.any,
   * whose dependants pile up on long-lived signals).
   */
  #begin(
    node: string,
    spec: RequestSpec,
  ): {
    url: URL;
    ctl: AbortController;
    timedOut: () => boolean;
    stopTimer: () => void;
    release: () => void;
  } {
    const url = new URL(`${node}${spec.path}`);
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const timeoutMs = spec.timeoutMs ?? this.#opts.timeoutMs;
    if (this.#closed) throw this.#closed;
    spec.signal?.throwIfAborted();
    const ctl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort(new Error("timeout"));
    }, timeoutMs);
    const onAbort = () => ctl.abort(spec.signal?.reason);
    spec.signal?.addEventListener("abort", onAbort, { once: true });
    this.#inflight.add(ctl);
    return {
      url,
      ctl,
      timedOut: () => timedOut,
      stopTimer: () => clearTimeout(timer),
      release: () => {
        clearTimeout(timer);
        spec.signal?.removeEventListener("abort", onAbort);
        this.#inflight.delete(ctl);
      },
    };
  }

  async #read<T>(
    read: () => Promise<T>,
    node: string,
    spec: RequestSpec,
    timedOut: () => boolean,
  ): Promise<T> {
    try {
      return await read();
    } catch (err) {
      throw this.#wrap(err, node, spec, timedOut());
    }
  }

  async #fetch(
    node: string,
    spec: RequestSpec,
    headersOnly: boolean,
  ): Promise<{ res: Response; timeout: () => boolean; clear: () => void; cancel: () => void }> {
    const { url, ctl, timedOut, stopTimer, release } = this.#begin(node, spec);
    const headers: Record<string, string> = { "X-TYPESENSE-API-KEY": this.#opts.apiKey };
    if (spec.body !== undefined) headers["Content-Type"] = spec.contentType ?? "application/json";
    try {
      const res = await fetch(url, {
        method: spec.method,
        headers,
        body: spec.body,
        signal: ctl.signal,
        // never follow: a redirect would carry the API key to another address
        // (https -> http, another host) that no allow_http check has seen
        redirect: "manual",
      });
      if (isRedirect(res.status)) {
        void res.body?.cancel().catch(() => {});
        throw redirectError(res.status, `${spec.method} ${spec.path}`, node);
      }
      // Buffered reads stay under the timer until the body is read (request()
      // calls clear); for streams it covers the headers only.
      if (headersOnly) stopTimer();
      return {
        res,
        timeout: timedOut,
        clear: release,
        cancel: () => {
          release();
          ctl.abort(new Error("cancelled"));
        },
      };
    } catch (err) {
      release();
      throw this.#wrap(err, node, spec, timedOut());
    }
  }

  /** Caller aborts and close() propagate as-is; the rest become TypesenseErrors. */
  #wrap(err: unknown, node: string, spec: RequestSpec, timedOut: boolean): unknown {
    if (spec.signal?.aborted) return spec.signal.reason;
    if (this.#closed) return this.#closed;
    if (err instanceof TypesenseError) return err;
    if (timedOut) {
      const ms = spec.timeoutMs ?? this.#opts.timeoutMs;
      return new TypesenseError({
        message: `${spec.method} ${spec.path}: no response from ${node} within ${ms} ms`,
        kind: "timeout",
        node,
        cause: err,
      });
    }
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new TypesenseError({
      message: `${spec.method} ${spec.path}: ${node} unreachable (${detail})`,
      kind: "network",
      node,
      cause,
    });
  }
}

/** 3xx: a redirect, never followed (see redirectError). */
function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** Errors of a node:http exchange that failed after the response headers arrived. */
const afterHeaders = new WeakSet<object>();
