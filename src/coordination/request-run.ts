import type pg from "pg";
import { type ClientScope, UNSCOPED } from "../control/client-scope.js";
import { isUuid } from "../control/errors.js";
import { clearJoinMarker, lockJobForRun } from "../db/repositories/jobs.js";
import {
  cancelRun,
  insertQueuedRun,
  type RebuildCause,
  type RunTrigger,
  selectOpenRun,
} from "../db/repositories/runs.js";
import { inTransaction } from "../db/transaction.js";
import { ServiceError } from "../errors/service-error.js";

/** Who asked for a run (typesense_sync_runs.trigger). */
export type { RunTrigger };

export class JobNotFoundError extends ServiceError {
  override readonly name = "JobNotFoundError";
  constructor(readonly jobId: string) {
    super("JOB_NOT_FOUND", `sync job ${jobId} not found`);
  }
}

/** A manual run of a job whose `enabled` is false (HTTP 409): nothing would ever run it. */
export class JobDisabledError extends ServiceError {
  override readonly name = "JobDisabledError";
  constructor(readonly jobId: string) {
    super("JOB_DISABLED", "job is disabled");
  }
}

/** The job is leased by a running sync (HTTP 409). */
export class RunConflictError extends ServiceError {
  override readonly name = "RunConflictError";
  constructor(
    readonly jobId: string,
    readonly runId: string | null,
    readonly leaseExpiresAt: Date | null,
  ) {
    super(
      "LEASE_CONFLICT",
      `sync job ${jobId} is already running${runId ? ` (run ${runId})` : ""}; try again after it finishes`,
    );
  }
}

export interface RequestedRun {
  runId: string;
  /** "queued" for a new run; "resumable" when an unfinished run will be resumed instead. */
  disposition: "queued" | "resumable";
}

/** Channel on which a run request is announced so a worker picks it up at once. */
export const RUN_REQUESTED_CHANNEL = "athena_ts_run_requested";

/**
 * Records that a job should run now; the full-sync engine picks the run up
 * (poll + NOTIFY). This never runs anything itself.
 *
 * - job disabled                        -> JobDisabledError (409): no worker
 *   picks a disabled job, so a queued run would wait forever
 * - job leased by a live run            -> RunConflictError (409)
 * - an unfinished run exists, lease free -> that run is returned: the engine
 *   resumes it at its checkpoint instead of starting a second run (seed 000)
 * - otherwise                            -> a new `queued` run row
 *
 * The partial unique index typesense_sync_runs_one_open_idx makes "one open
 * run per job" hold even when two requests race: the loser gets 409.
 * A job outside the caller's client scope is not found (404), like an unknown id.
 */
export async function requestRun(
  pool: pg.Pool,
  opts: { jobId: string; trigger: RunTrigger; scope: ClientScope },
): Promise<RequestedRun> {
  return withLockedJob(pool, opts.jobId, opts.scope, async (j) => {
    if (!j.enabled) throw new JobDisabledError(opts.jobId);
    j.assertNotLeased();
    const result: RequestedRun = j.openRun
      ? { runId: j.openRun.id, disposition: "resumable" }
      : { runId: await j.queue(opts.trigger), disposition: "queued" };
    await j.announce();
    return result;
  });
}

/**
 * A rebuild asked for (or a spec change that needs one) while another run of
 * the job is open (HTTP 409); `action` is what to do after it finished.
 */
export class OpenRunConflictError extends ServiceError {
  override readonly name = "OpenRunConflictError";
  constructor(
    readonly jobId: string,
    readonly runId: string,
    readonly trigger: string,
    action = "request the rebuild",
  ) {
    super(
      "CONFLICT",
      `sync job ${jobId} has an open ${trigger} run (${runId}); ${action} after it finished`,
    );
  }
}

/**
 * Queues a rebuild of a job (docs/full-sync.md "Rebuilds"): a run with
 * trigger `rebuild` that starts in its `create` step. Under the job row's
 * lock, as requestRun:
 * - job disabled / leased by a live run -> JobDisabledError / RunConflictError (409)
 * - an open rebuild run                 -> that run ("resumable"): one rebuild at a time
 * - another open run                    -> OpenRunConflictError (409): a queued or
 *   interrupted sync resumes first; a rebuild never silently replaces it
 * - otherwise                           -> a new `queued` rebuild run
 * Nothing is written to Typesense here: the engine creates v(N+1) when it
 * picks the run up, so a rebuild that never runs leaves the live version alone.
 */
export async function requestRebuild(
  pool: pg.Pool,
  opts: { jobId: string; scope: ClientScope },
): Promise<RequestedRun> {
  return withLockedJob(pool, opts.jobId, opts.scope, async (j) => {
    if (!j.enabled) throw new JobDisabledError(opts.jobId);
    j.assertNotLeased();
    const open = j.openRun;
    if (open && open.trigger !== "rebuild") {
      throw new OpenRunConflictError(opts.jobId, open.id, open.trigger);
    }
    const result: RequestedRun = open
      ? { runId: open.id, disposition: "resumable" }
      : { runId: await j.queue("rebuild", { reason: "manual" }), disposition: "queued" };
    await j.announce();
    return result;
  });
}

/**
 * Accepts the pending CDC join resync of a job (typesense_sync_jobs.
 * cdc_resync_requested_at, set by the stream's setup after the job joined its
 * stream): the run that satisfies it must read EVERY window after the join,
 * so an unfinished run that started before the marker is never resumed for it.
 *
 * In ONE transaction, under the job row's lock:
 * - no marker                           -> null (nothing pending, nothing done)
 * - job leased by a live run            -> RunConflictError; the marker stays
 * - an open run never started, or first started at/after the marker
 *                                        -> that run ("resumable"); marker cleared
 * - an open run in stage `rollback` that started before
 *                                        -> that run ("resumable"), marker KEPT:
 *   its saga rollback resumes and finishes it; the next request (no open run
 *   then) queues the resync
 * - an open run that started before     -> it is closed `cancelled` (stage
 *   finished, error_message says why) and a new `queued` resync run is
 *   inserted; marker cleared
 * - no open run                         -> a new `queued` resync run; marker cleared
 *
 * Cancelling the old run without its rollback is safe data-wise: the new run
 * upserts every source row and its orphan sweep deletes every doc whose row is
 * gone, so the collection ends equal to the table; the old run's manifest and
 * saga records are simply never used again. Clearing the marker in the same
 * transaction as queueing the run is what makes the need durable: a crash
 * before the commit leaves both undone, after it both done.
 */
export async function requestJoinResync(
  pool: pg.Pool,
  jobId: string,
): Promise<RequestedRun | null> {
  return withLockedJob(pool, jobId, UNSCOPED, async (j) => {
    if (j.marker === null) return null;
    j.assertNotLeased();
    if (j.markerReason !== null) return acceptLostSlotRebuild(j, j.markerReason);
    const open = j.openRun;
    let result: RequestedRun;
    if (open && (open.afterJoin || open.stage === "rollback")) {
      result = { runId: open.id, disposition: "resumable" };
    } else {
      if (open) {
        await cancelRun(
          j.client,
          open.id,
          "superseded by a CDC resync: this run started before the job joined its stream, so windows it read earlier may miss changes the stream never carried; a new run reads every window again",
        );
      }
      result = { runId: await j.queue("resync"), disposition: "queued" };
    }
    if (open?.afterJoin || result.disposition === "queued") {
      await clearJoinMarker(j.client, jobId);
    }
    await j.announce();
    return result;
  });
}

/**
 * The pending marker of a lost replication slot asks for a REBUILD (docs/cdc.md
 * "Lost replication slot"): search keeps serving the live version while a
 * complete new one is built from the source. Same transaction and lock as
 * requestJoinResync:
 * - an open run that first started at/after the marker (or never started)
 *                                        -> that run; marker cleared (it reads
 *   every window after the slot was recreated)
 * - an open run in rollback, or an open rebuild, started before
 *                                        -> that run, marker KEPT: it finishes
 *   (a rebuild swaps, a rollback compensates), then the next request queues
 *   the rebuild this marker asks for
 * - an open run that started before     -> cancelled, a rebuild queued; cleared
 * - no open run                         -> a rebuild queued, `reason` recorded
 *   on the run (trigger_reason); cleared
 */
async function acceptLostSlotRebuild(j: LockedJob, reason: string): Promise<RequestedRun> {
  const open = j.openRun;
  let result: RequestedRun;
  if (open && (open.afterJoin || open.stage === "rollback" || open.trigger === "rebuild")) {
    result = { runId: open.id, disposition: "resumable" };
  } else {
    if (open) {
      await cancelRun(
        j.client,
        open.id,
        `superseded by a rebuild: ${reason}; this run started before, so windows it read earlier may miss changes`,
      );
    }
    result = {
      runId: await j.queue("rebuild", { reason: "slot_lost", detail: reason }),
      disposition: "queued",
    };
  }
  if (open?.afterJoin || result.disposition === "queued") {
    await clearJoinMarker(j.client, j.jobId);
  }
  await j.announce();
  return result;
}

/** NOTIFY on RUN_REQUESTED_CHANNEL, sent at the transaction's commit: a worker picks the run up at once. */
export async function announceRunRequested(db: pg.PoolClient, jobId: string): Promise<void> {
  await db.query("select pg_notify($1, $2)", [RUN_REQUESTED_CHANNEL, jobId]);
}

/** A job row locked in an open transaction, with what run requests decide on. */
interface LockedJob {
  client: pg.PoolClient;
  /** typesense_sync_jobs.enabled, read under the row lock. */
  enabled: boolean;
  /** The pending CDC join resync marker (cdc_resync_requested_at), or null. */
  marker: Date | null;
  /** Non-null: the marker asks for a rebuild, for this reason (a lost slot). */
  markerReason: string | null;
  jobId: string;
  /**
   * The job's open (queued or running) run; afterJoin: it never started, or
   * first started at or after the marker.
   */
  openRun: { id: string; stage: string; trigger: RunTrigger; afterJoin: boolean } | undefined;
  /** RunConflictError (409) while a live run holds the job's lease. */
  assertNotLeased(): void;
  /** Inserts a new queued run (a rebuild with its cause); its id. */
  queue(trigger: RunTrigger, cause?: RebuildCause): Promise<string>;
  /** NOTIFY on RUN_REQUESTED_CHANNEL (sent at commit) so a worker picks it up at once. */
  announce(): Promise<void>;
}

/**
 * One transaction under the job row's lock (FOR UPDATE): concurrent requests
 * for a job serialize here. A unique violation (a concurrent request created
 * the open run first, typesense_sync_runs_one_open_idx) becomes a 409.
 */
async function withLockedJob<T>(
  pool: pg.Pool,
  jobId: string,
  scope: ClientScope,
  body: (j: LockedJob) => Promise<T>,
): Promise<T> {
  if (!isUuid(jobId)) throw new JobNotFoundError(jobId);
  try {
    return await inTransaction(pool, async (client) => {
      const row = await lockJobForRun(client, jobId, scope);
      if (!row) throw new JobNotFoundError(jobId);
      const openRun = await selectOpenRun(client, jobId);
      return body({
        client,
        enabled: row.enabled,
        marker: row.marker,
        markerReason: row.marker_reason,
        jobId,
        openRun,
        assertNotLeased() {
          if (row.lease_live) {
            throw new RunConflictError(jobId, openRun?.id ?? null, row.lease_expires_at);
          }
        },
        queue(trigger, cause) {
          return insertQueuedRun(client, jobId, trigger, cause);
        },
        announce() {
          return announceRunRequested(client, jobId);
        },
      });
    });
  } catch (e) {
    // a concurrent request created the open run first
    if ((e as { code?: string }).code === "23505") {
      throw new RunConflictError(jobId, null, null);
    }
    throw e;
  }
}
