import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * Every Prometheus metric the sidecar exposes on GET /metrics, in one
 * registry owned by the process (no prom-client global registry: tests build
 * as many as they like). Modules receive this object and only touch the
 * metrics of their own area; label values are bounded sets (route patterns,
 * job ids, client names), never raw paths or document ids.
 */
export interface Metrics {
  readonly registry: Registry;
  /** HTTP requests by method, route pattern and status. */
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route">;
  /** Search gateway requests by search key (its public id, "none" when unknown), route, status. */
  gatewayRequests: Counter<"key" | "route" | "status">;
  gatewayDuration: Histogram<"key" | "route">;
  /** Finished full-sync runs by outcome (succeeded|failed|rolled_back|cancelled). */
  syncRuns: Counter<"job_id" | "outcome">;
  /** Rows read from the source and documents written by full sync. */
  syncRows: Counter<"job_id">;
  syncDocs: Counter<"job_id" | "result">;
  syncRowsPerSecond: Gauge<"job_id">;
  importRetries: Counter<"job_id" | "origin">;
  rollbacks: Counter<"job_id" | "status">;
  deadLetters: Counter<"job_id" | "origin">;
  /** Row changes written by CDC (this instance's streams), op = insert|update|delete|truncate. */
  cdcChanges: Counter<"client" | "op">;
  cdcLagSeconds: Gauge<"client">;
  /** Observed once per flush per job: Typesense confirmation minus commit time. */
  cdcLagHistogram: Histogram<"client" | "job_id">;
  slotRetainedWalBytes: Gauge<"client">;
  /** 1 for the stream's current state, 0 for the others. */
  streamState: Gauge<"client" | "state">;
  /** Version collections deleted by serve's rebuild-drop service: kind = kept (after its keep period) | orphan. */
  rebuildDrops: Counter<"kind">;
  /** The job's last finished drift audit (docs/audit.md): documents found, kind = missing|extra|differing. */
  auditDrift: Gauge<"job_id" | "kind">;
  /** Of those, repaired by that audit. */
  auditRepaired: Gauge<"job_id" | "kind">;
  /** When the job's last audit finished (Unix seconds), and whether it succeeded (1) or failed (0). */
  auditLastTimestamp: Gauge<"job_id">;
  auditLastSuccess: Gauge<"job_id">;
}

export interface MetricsOptions {
  /** Also collect Node process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
  /** Prefix of every metric name. Default "athena_ts_". */
  prefix?: string;
}

export const STREAM_STATES = [
  "starting",
  "streaming",
  "backoff",
  "stopped",
  "error",
  "lost",
] as const;

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const p = opts.prefix ?? "athena_ts_";
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: p });
  const reg = { registers: [registry] };
  return {
    registry,
    httpRequests: new Counter({
      name: `${p}http_requests_total`,
      help: "HTTP requests by method, route and status",
      labelNames: ["method", "route", "status"],
      ...reg,
    }),
    httpDuration: new Histogram({
      name: `${p}http_request_duration_seconds`,
      help: "HTTP request latency",
      labelNames: ["method", "route"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ...reg,
    }),
    gatewayRequests: new Counter({
      name: `${p}gateway_requests_total`,
      help: "Search gateway (/typesense-api) requests by search key public id, route and status",
      labelNames: ["key", "route", "status"],
      ...reg,
    }),
    gatewayDuration: new Histogram({
      name: `${p}gateway_request_duration_seconds`,
      help: "Search gateway latency per search key (auth, scope, Typesense and back)",
      labelNames: ["key", "route"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ...reg,
    }),
    syncRuns: new Counter({
      name: `${p}sync_runs_total`,
      help: "Finished full-sync runs by outcome",
      labelNames: ["job_id", "outcome"],
      ...reg,
    }),
    syncRows: new Counter({
      name: `${p}sync_rows_total`,
      help: "Source rows read by full sync",
      labelNames: ["job_id"],
      ...reg,
    }),
    syncDocs: new Counter({
      name: `${p}sync_documents_total`,
      help: "Documents handled by full sync by result (imported|unchanged|failed|deleted)",
      labelNames: ["job_id", "result"],
      ...reg,
    }),
    syncRowsPerSecond: new Gauge({
      name: `${p}sync_rows_per_second`,
      help: "Rows per second of the latest window of each job's running full sync",
      labelNames: ["job_id"],
      ...reg,
    }),
    importRetries: new Counter({
      name: `${p}import_retries_total`,
      help: "Typesense import requests retried after a retryable error",
      labelNames: ["job_id", "origin"],
      ...reg,
    }),
    rollbacks: new Counter({
      name: `${p}sync_rollbacks_total`,
      help: "Saga rollbacks by final status",
      labelNames: ["job_id", "status"],
      ...reg,
    }),
    deadLetters: new Counter({
      name: `${p}dead_letters_total`,
      help: "Documents Typesense rejected for good",
      labelNames: ["job_id", "origin"],
      ...reg,
    }),
    cdcChanges: new Counter({
      name: `${p}cdc_changes_total`,
      help: "Row changes applied by CDC, by operation",
      labelNames: ["client", "op"],
      ...reg,
    }),
    cdcLagSeconds: new Gauge({
      name: `${p}cdc_lag_seconds`,
      help: "Commit time to Typesense confirmation of the latest applied transaction",
      labelNames: ["client"],
      ...reg,
    }),
    cdcLagHistogram: new Histogram({
      name: `${p}cdc_lag_distribution_seconds`,
      help: "Distribution of commit -> Typesense confirmed lag, one observation per flush and job",
      labelNames: ["client", "job_id"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      ...reg,
    }),
    slotRetainedWalBytes: new Gauge({
      name: `${p}slot_retained_wal_bytes`,
      help: "WAL retained by the client's replication slot",
      labelNames: ["client"],
      ...reg,
    }),
    streamState: new Gauge({
      name: `${p}cdc_stream_state`,
      help: "CDC stream state (1 = current)",
      labelNames: ["client", "state"],
      ...reg,
    }),
    rebuildDrops: new Counter({
      name: `${p}rebuild_version_drops_total`,
      help: "Version collections (__v<N>) deleted: kept (keep period ended) or orphan",
      labelNames: ["kind"],
      ...reg,
    }),
    auditDrift: new Gauge({
      name: `${p}audit_drift_documents`,
      help: "Documents the job's last drift audit found missing, extra or differing",
      labelNames: ["job_id", "kind"],
      ...reg,
    }),
    auditRepaired: new Gauge({
      name: `${p}audit_repaired_documents`,
      help: "Documents the job's last drift audit repaired, by kind",
      labelNames: ["job_id", "kind"],
      ...reg,
    }),
    auditLastTimestamp: new Gauge({
      name: `${p}audit_last_timestamp_seconds`,
      help: "When the job's last drift audit finished (Unix time)",
      labelNames: ["job_id"],
      ...reg,
    }),
    auditLastSuccess: new Gauge({
      name: `${p}audit_last_success`,
      help: "1 when the job's last drift audit succeeded, 0 when it failed",
      labelNames: ["job_id"],
      ...reg,
    }),
  };
}

/** Sets the state gauge of one stream: 1 for `state`, 0 for every other state. */
export function setStreamState(m: Metrics, client: string, state: string): void {
  for (const s of STREAM_STATES) m.streamState.set({ client, state: s }, s === state ? 1 : 0);
}
