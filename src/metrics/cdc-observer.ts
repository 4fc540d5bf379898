import type { CdcStreamMetrics } from "../cdc/index.js";
import type { Metrics } from "./index.js";

/**
 * The CDC stream's metrics hooks for one source client. The stream calls them
 * after Typesense confirmed a write (changes by operation, lag per flush and
 * job) and for every retried Typesense call (import_retries_total{origin="cdc"}).
 * These move with this instance's streams only: Prometheus sums instances.
 */
export function cdcStreamMetrics(m: Metrics, client: string): CdcStreamMetrics {
  return {
    applied: (_jobId, op, n) => m.cdcChanges.inc({ client, op }, n),
    lag: (job_id, ms) => m.cdcLagHistogram.observe({ client, job_id }, ms / 1000),
    retry: (job_id) => m.importRetries.inc({ job_id, origin: "cdc" }),
  };
}
