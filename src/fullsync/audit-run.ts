import type pg from "pg";
import type { WatermarkCoordinator } from "../coordination/watermarks.js";
import {
  type ClaimedAudit,
  claimAudit,
  finishAudit,
  loadAuditSettings,
  releaseAudit,
  renewAudit,
} from "../db/repositories/audits.js";
import { type JobRow, loadJob } from "../db/repositories/runs.js";
import type { Logger } from "../lifecycle/index.js";
import { type AuditBackend, type AuditHooks, auditJob } from "./audit.js";

export interface AuditRunnerOptions {
  control: pg.Pool;
  source: (clientName: string) => pg.Pool;
  backendFor: (profileId: string) => Promise<AuditBackend>;
  watermarks?: WatermarkCoordinator;
  /** This instance's name (the audit row's owner). */
  owner: string;
  /** How long a claim holds without renewal (renewed after every page). Default 60 s. */
  claimTtlMs?: number;
  log: Logger;
  pageSize?: number;
  random?: () => number;
  hooks?: AuditHooks;
  /**
   * Whether this instance may audit the job now (serve: a CDC job only on the
   * instance leading its client's stream, whose watermarks bracket the
   * repair). A claimed audit it may not run is released (releaseAudit).
   */
  mayAudit?: (job: JobRow) => boolean;
  /** Start scheduled audits too (default true; serve: typesense.sync_worker_enabled). */
  scheduled?: boolean;
}

/** What runNext did: ran the audit, or released it to another instance (`released`). */
export type AuditRun = ClaimedAudit & { released: boolean };

export interface AuditRunner {
  /**
   * Claims the next audit (a queued one, else a scheduled one of a due job;
   * `exclude`: jobs not to audit here now), runs it and records its result.
   * null: there was nothing to do.
   */
  runNext(exclude?: readonly string[], signal?: AbortSignal): Promise<AuditRun | null>;
}

/**
 * Claim -> audit -> record, in that order: the audit row is running (owned,
 * renewed per page) before the first read, and its result is written only
 * after every repair write was confirmed by Typesense. A crash in between
 * leaves a running row whose claim expires (claimAudit fails it); the repair
 * writes done so far were idempotent upserts and deletes of current rows.
 */
export function createAuditRunner(opts: AuditRunnerOptions): AuditRunner {
  const ttlMs = opts.claimTtlMs ?? 60_000;
  return {
    async runNext(exclude = [], signal) {
      const claim = await claimAudit(opts.control, {
        owner: opts.owner,
        ttlMs,
        exclude,
        scheduled: opts.scheduled !== false,
      });
      if (!claim) return null;
      const log = opts.log.child({ component: "audit", jobId: claim.jobId, auditId: claim.id });
      try {
        const job = await loadJob(opts.control, claim.jobId);
        const settings = await loadAuditSettings(opts.control, claim.jobId);
        if (!job || !settings) throw new Error("the job was deleted");
        if (opts.mayAudit && !opts.mayAudit(job)) {
          await releaseAudit(opts.control, claim.id, opts.owner);
          return { ...claim, released: true };
        }
        const result = await auditJob(
          {
            control: opts.control,
            source: opts.source(job.sourceClientName),
            backend: await opts.backendFor(job.profileId),
            job,
            ...(opts.watermarks ? { watermarks: opts.watermarks } : {}),
            ...(signal ? { signal } : {}),
            log,
            ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
            ...(opts.random ? { random: opts.random } : {}),
            ...(opts.hooks ? { hooks: opts.hooks } : {}),
            renew: () => renewAudit(opts.control, claim.id, opts.owner, ttlMs),
          },
          settings,
        );
        await finishAudit(opts.control, claim.id, opts.owner, { result });
        const { missing, extra, differing } = result;
        log.info(
          {
            missing: missing.count,
            extra: extra.count,
            differing: differing.count,
            repaired: result.repaired,
          },
          "drift audit done",
        );
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        log.warn({ err: { message } }, "drift audit failed");
        await finishAudit(opts.control, claim.id, opts.owner, { error: message });
      }
      return { ...claim, released: false };
    },
  };
}
