import type pg from "pg";
import { selectLastAudits } from "../db/repositories/audits.js";
import {
  deadLetterAttempts,
  type RunRow,
  readRunSamples,
  readStreamSamples,
} from "../db/repositories/metrics-samples.js";
import { sleepUnlessAborted } from "../lifecycle/backoff.js";
import type { Logger } from "../lifecycle/logger.js";
import type { Service } from "../lifecycle/service.js";
import { type Metrics, setStreamState } from "./index.js";

export interface ControlSamplerOptions {
  control: pg.Pool;
  metrics: Metrics;
  log: Logger;
  /** Sampling period, ms. Default 5000. */
  intervalMs?: number;
}

const ZERO_RUN: Omit<RunRow, "id" | "job_id" | "status" | "rollback_status" | "fresh"> = {
  retry_attempt_count: 0,
  manifest_processed_rows: "0",
  imported_count: "0",
  unchanged_count: "0",
  failed_count: "0",
  deleted_count: "0",
};

/**
 * Derives the sync and CDC metrics from the control tables, which are the
 * single source of truth every module already keeps up to date (streams write
 * lag / retained WAL / changes applied; runs write counters at each
 * checkpoint). Sampling the tables instead of instrumenting every hot path
 * keeps the engines free of metrics plumbing, and shows runs and streams led
 * by other instances too.
 *
 * Gauges are set from the latest rows. Counters grow by the deltas this
 * process observes since it started (a run's counters), so rate() works as
 * usual; after a restart they start from zero, as Prometheus counters may.
 * What the tables cannot tell (CDC changes by operation, lag per flush and
 * job, CDC retries) the streams report themselves (cdc-observer.ts).
 */
export function createControlSampler(opts: ControlSamplerOptions): Service {
  const { metrics: m } = opts;
  const interval = opts.intervalMs ?? 5000;
  const lastRun = new Map<string, RunRow>();
  const finished = new Set<string>();
  const startedAt = new Date();
  let lastSampleAt = Date.now();
  /** Dead-letter attempts per `job_id origin` at the previous sample; null before the first. */
  let deadLetterBase: Map<string, number> | null = null;

  async function sample(): Promise<void> {
    for (const s of await readStreamSamples(opts.control)) {
      const client = s.source_client_name;
      setStreamState(m, client, s.status);
      if (s.lag_ms !== null) m.cdcLagSeconds.set({ client }, Number(s.lag_ms) / 1000);
      if (s.retained_wal_bytes !== null) {
        m.slotRetainedWalBytes.set({ client }, Number(s.retained_wal_bytes));
      }
    }

    // runs that were open at the previous sample or changed since
    const now = Date.now();
    // runs open at the previous sample are read again whatever their updated_at
    const runs = await readRunSamples(opts.control, {
      changedSince: new Date(lastSampleAt - 1000),
      startedAt,
      openIds: [...lastRun.keys()],
    });
    const seconds = Math.max(0.001, (now - lastSampleAt) / 1000);
    for (const r of runs) {
      const job_id = r.job_id;
      // baseline: the previous sample, or zero for a run born after we started;
      // a run already under way when the process started has no baseline yet
      const before = lastRun.get(r.id) ?? (r.fresh ? { ...r, ...ZERO_RUN } : undefined);
      const d = (k: keyof typeof ZERO_RUN) => Number(r[k]) - Number(before?.[k] ?? 0);
      if (before) {
        const rows = d("manifest_processed_rows");
        if (rows > 0) m.syncRows.inc({ job_id }, rows);
        if (r.status === "running")
          m.syncRowsPerSecond.set({ job_id }, Math.max(0, rows) / seconds);
        for (const [key, result] of [
          ["imported_count", "imported"],
          ["unchanged_count", "unchanged"],
          ["failed_count", "failed"],
          ["deleted_count", "deleted"],
        ] as const) {
          const n = d(key);
          if (n > 0) m.syncDocs.inc({ job_id, result }, n);
        }
        const retries = d("retry_attempt_count");
        if (retries > 0) m.importRetries.inc({ job_id, origin: "full_sync" }, retries);
      }
      const done = ["succeeded", "failed", "cancelled"].includes(r.status);
      if (done && !finished.has(r.id) && before) {
        finished.add(r.id);
        const outcome = r.rollback_status === "succeeded" ? "rolled_back" : r.status;
        m.syncRuns.inc({ job_id, outcome });
        // both series exist from a job's first finished run on (0 = no rollback yet), so
        // the dashboard shows 0 instead of "no data"
        for (const status of ["succeeded", "failed"] as const) {
          m.rollbacks.inc({ job_id, status }, r.rollback_status === status ? 1 : 0);
        }
        m.syncRowsPerSecond.set({ job_id }, 0);
      }
      if (done) lastRun.delete(r.id);
      else lastRun.set(r.id, r);
    }

    deadLetterBase = await sampleDeadLetters(opts.control, m, deadLetterBase);
    await sampleAudits(opts.control, m);
    lastSampleAt = now;
  }

  return {
    name: "metrics-sampler",
    async run(signal) {
      while (!signal.aborted) {
        try {
          await sample();
        } catch (e) {
          opts.log.warn({ component: "metrics", err: e }, "metrics sample failed");
        }
        if (!(await sleepUnlessAborted(interval, signal))) return;
      }
    },
  };
}

/**
 * Counts the dead letters recorded since the previous sample: the growth of
 * each job's and origin's attempt total (deadLetterAttempts). The first sample
 * is the baseline (letters from before this process are not counted, as the
 * other counters start at zero). A letter whose origin changes on a later
 * failure (a full sync's letter failing again in CDC) moves its attempts to
 * the new origin: the new one grows by all of them, the old one does not
 * shrink (a counter never decreases), so such a letter is counted again once.
 */
async function sampleDeadLetters(
  control: pg.Pool,
  m: Metrics,
  base: Map<string, number> | null,
): Promise<Map<string, number>> {
  const next = new Map<string, number>();
  for (const r of await deadLetterAttempts(control)) {
    const key = `${r.job_id} ${r.origin}`;
    const total = Number(r.attempts);
    next.set(key, total);
    if (base === null) continue;
    const grown = total - (base.get(key) ?? 0);
    if (grown > 0) m.deadLetters.inc({ job_id: r.job_id, origin: r.origin }, grown);
  }
  return next;
}

const AUDIT_KINDS = [
  ["missing", "missing_count", "repaired_missing"],
  ["extra", "extra_count", "repaired_extra"],
  ["differing", "differing_count", "repaired_differing"],
] as const;

/**
 * Each job's last finished drift audit as gauges (from the control DB, so
 * every instance reports the same, whichever instance ran the audit). A failed
 * audit leaves the drift gauges as the last successful audit set them (a
 * failure measures nothing); audit_last_success = 0 tells it.
 */
async function sampleAudits(control: pg.Pool, m: Metrics): Promise<void> {
  for (const a of await selectLastAudits(control)) {
    const job_id = a.job_id;
    const ok = a.status === "succeeded";
    m.auditLastSuccess.set({ job_id }, ok ? 1 : 0);
    const at = a.finished_at instanceof Date ? a.finished_at.getTime() / 1000 : null;
    if (at !== null) m.auditLastTimestamp.set({ job_id }, at);
    if (!ok) continue;
    for (const [kind, found, repaired] of AUDIT_KINDS) {
      m.auditDrift.set({ job_id, kind }, Number(a[found] ?? 0));
      m.auditRepaired.set({ job_id, kind }, Number(a[repaired] ?? 0));
    }
  }
}
