import { TypesenseError } from "./errors.js";
import type { HttpOptions } from "./http-types.js";

/** Node errors raised before any byte was sent: safe to send elsewhere, even a non-idempotent write. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * The node choice and failover bookkeeping of TypesenseHttp (http.ts). Nodes
 * are used round-robin; a node that fails at the network level or with 5xx is
 * skipped for nodeCooldownMs (read from the options at each mark, as before).
 * A call fails over to the next node only when nothing was sent.
 */
export class NodePool {
  readonly nodes: readonly string[];
  readonly #downUntil: number[];
  readonly #opts: HttpOptions;
  #next = 0;

  constructor(opts: HttpOptions) {
    this.nodes = opts.nodes.map((n) => n.replace(/\/+$/, ""));
    this.#downUntil = this.nodes.map(() => 0);
    this.#opts = opts;
  }

  /**
   * Tries healthy nodes in turn. A failure that counts against the node
   * (`countsAgainstNode`, default all) marks it down; the call fails over to
   * the next node only when the connection could not be opened (nothing was
   * sent), else the error surfaces (withRetry owns the attempts).
   */
  async withFailover<T>(
    send: (node: string, idx: number) => Promise<T>,
    countsAgainstNode: (err: TypesenseError) => boolean = () => true,
  ): Promise<T> {
    const tried = new Set<number>();
    for (;;) {
      const idx = this.#pick(tried);
      tried.add(idx);
      const node = this.nodes[idx] as string;
      try {
        return await send(node, idx);
      } catch (err) {
        if (err instanceof TypesenseError && err.kind !== "rejected" && countsAgainstNode(err)) {
          this.markDown(idx);
          if (err.kind === "network" && notSent(err.cause) && tried.size < this.nodes.length) {
            this.#opts.log?.warn(
              { component: "typesense", node, err: err.message },
              "Typesense node unreachable, failing over",
            );
            continue;
          }
        }
        throw err;
      }
    }
  }

  markDown(i: number): void {
    this.#downUntil[i] = Date.now() + (this.#opts.nodeCooldownMs ?? 10_000);
  }

  #pick(tried: Set<number>): number {
    const n = this.nodes.length;
    const now = Date.now();
    let fallback = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      if (tried.has(i)) continue;
      if (this.#downUntil[i]! <= now) {
        this.#next = (i + 1) % n;
        return i;
      }
      // Every node cooling down: use the one that recovers first.
      if (fallback < 0 || this.#downUntil[i]! < this.#downUntil[fallback]!) fallback = i;
    }
    const i = fallback < 0 ? this.#next % n : fallback;
    this.#next = (i + 1) % n;
    return i;
  }
}

function notSent(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && NOT_SENT.has(code);
}
