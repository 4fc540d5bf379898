/**
 * Fault rules: which requests fail, slow down or lose their connection.
 *
 * Rules are matched in the order they were added against the request method and path (query
 * string excluded). A fail/drop rule is consumed once per matching request; latency rules
 * apply to every match until their count runs out. Going down is handled by the server.
 */

/** A path pattern: a RegExp, or a glob where `*` matches any run of characters (also `/`). */
export type PathPattern = string | RegExp;

export interface FaultMatch {
  /** HTTP method (case-insensitive); any method when absent. */
  method?: string;
  /** Path pattern; any path when absent. */
  path?: PathPattern;
}

export interface FailSpec extends FaultMatch {
  /** How many matching requests fail (default 1; Infinity for all). */
  times?: number;
  /** Status to answer with, e.g. 503, 500, 429, 422. */
  status: number;
  /** Body: an object is sent as JSON, a string as is. Default `{"message":"Injected fault"}`. */
  body?: unknown;
  /** Apply the request first, then answer with the fault (the write happened, the ack is lost). */
  after?: boolean;
}

export interface LatencySpec extends FaultMatch {
  /** Delay in milliseconds before the request is handled. */
  ms: number;
  /** How many matching requests are delayed (default Infinity). */
  times?: number;
}

export interface DropSpec extends FaultMatch {
  /** How many matching requests lose their connection (default 1). */
  times?: number;
  /** Apply the request first, then destroy the socket instead of answering. */
  after?: boolean;
}

/** Typical fault bodies, with Typesense's texts. */
export const FAULT_BODIES = {
  notReady: { message: "Not Ready or Lagging" },
  outOfMemory: { message: "Rejecting write: running out of resource type: OUT_OF_MEMORY" },
  rateLimited: { message: "Rate limit exceeded or blocked" },
  internal: { message: "Internal Server Error" },
} as const;

/** Programmatic fault injection, available as `EmulatorHandle.faults`. */
export interface FaultInjector {
  /** Fail the next `times` matching requests with `status` and `body`. */
  failNext(spec: FailSpec): void;
  /** Delay matching requests. */
  addLatency(spec: LatencySpec): void;
  /** Destroy the socket of the next `times` matching requests without answering. */
  dropConnections(spec: DropSpec): void;
  /**
   * Stop listening and destroy every open connection: clients get ECONNREFUSED/ECONNRESET.
   * With `forMs`, the server comes back by itself after that long.
   */
  goDown(forMs?: number): Promise<void>;
  /** Listen again on the same port. */
  comeBack(): Promise<void>;
  /** True while down. */
  readonly isDown: boolean;
  /** Remove every rule (and cancel a scheduled come-back; a down server stays down). */
  clear(): void;
  /** The active rules, for debugging and the control route. */
  list(): FaultRuleInfo[];
}

export interface FaultRuleInfo {
  kind: "fail" | "latency" | "drop";
  method?: string;
  path?: string;
  remaining: number;
  status?: number;
  ms?: number;
  after?: boolean;
}

interface Rule {
  kind: "fail" | "latency" | "drop";
  method: string | undefined;
  re: RegExp | undefined;
  source: string | undefined;
  remaining: number;
  status: number;
  body: unknown;
  ms: number;
  after: boolean;
}

/** What to do with one request. */
export interface FaultDecision {
  latencyMs: number;
  action?:
    | { kind: "fail"; status: number; body: unknown; after: boolean }
    | { kind: "drop"; after: boolean };
}

/** Converts a glob to an anchored RegExp (`*` = any characters, `?` = one character). */
export function globToRegExp(glob: string): RegExp {
  let re = "^";
  for (const ch of glob) {
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else re += ch.replace(/[.+^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`${re}$`);
}

export class FaultRules {
  #rules: Rule[] = [];

  add(kind: Rule["kind"], spec: FaultMatch & Partial<FailSpec & LatencySpec & DropSpec>): void {
    const p = spec.path;
    const times = spec.times ?? (kind === "latency" ? Number.POSITIVE_INFINITY : 1);
    if (!(times > 0)) throw new Error("fault `times` must be positive");
    this.#rules.push({
      kind,
      method: spec.method?.toUpperCase(),
      re: p === undefined ? undefined : typeof p === "string" ? globToRegExp(p) : p,
      source: p === undefined ? undefined : String(p),
      remaining: times,
      status: spec.status ?? 500,
      body: spec.body ?? { message: "Injected fault" },
      ms: spec.ms ?? 0,
      after: spec.after === true,
    });
  }

  clear(): void {
    this.#rules = [];
  }

  get size(): number {
    return this.#rules.length;
  }

  list(): FaultRuleInfo[] {
    return this.#rules.map((r) => ({
      kind: r.kind,
      ...(r.method ? { method: r.method } : {}),
      ...(r.source ? { path: r.source } : {}),
      remaining: r.remaining,
      ...(r.kind === "fail" ? { status: r.status } : {}),
      ...(r.kind === "latency" ? { ms: r.ms } : {}),
      ...(r.kind !== "latency" ? { after: r.after } : {}),
    }));
  }

  /** Consumes the matching rules for one request and says what to do. */
  decide(method: string, path: string): FaultDecision {
    const out: FaultDecision = { latencyMs: 0 };
    if (this.#rules.length === 0) return out;
    for (const r of this.#rules) {
      if (r.remaining <= 0) continue;
      if (r.method !== undefined && r.method !== method) continue;
      if (r.re !== undefined && !r.re.test(path)) continue;
      if (r.kind === "latency") {
        out.latencyMs += r.ms;
        r.remaining--;
      } else if (out.action === undefined) {
        out.action =
          r.kind === "fail"
            ? { kind: "fail", status: r.status, body: r.body, after: r.after }
            : { kind: "drop", after: r.after };
        r.remaining--;
      }
    }
    this.#rules = this.#rules.filter((r) => r.remaining > 0);
    return out;
  }
}
