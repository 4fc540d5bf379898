import type pg from "pg";
import type { RebuildReason } from "../control/document-change.js";
import { describeReasons } from "../control/document-change.js";
import { type Job, resetCdcJoin } from "../db/repositories/jobs.js";
import {
  cancelUnstartedRun,
  forgetVersions,
  markRebuildRequired,
  recauseQueuedRebuild,
} from "../db/repositories/rebuilds.js";
import { cancelOpenRuns, insertQueuedRun, selectOpenRun } from "../db/repositories/runs.js";
import { announceRunRequested, OpenRunConflictError } from "./request-run.js";

/** What a retarget started (returned with the PATCH response). */
export interface RetargetResync {
  /** The fields whose value changed. */
  changed: string[];
  /** true: a full run of the new shape follows by itself. */
  queued: boolean;
  /** "run": a run was queued now; "cdc_join": the CDC stream re-joins the job and queues it. */
  via: "run" | "cdc_join" | "rebuild" | null;
  /** The queued run ("run" and "rebuild"). */
  runId: string | null;
  message: string;
}

/** Said only when the job moved to another collection (a spec or column change keeps its own). */
const oldTarget = (changed: readonly string[]) =>
  changed.includes("profile_id") || changed.includes("collection_name")
    ? " The old collection is left as it was (delete it yourself when it is no longer needed)."
    : "";

/**
 * Starts the resync of a retargeted job (control/jobs.ts RETARGET_FIELDS), in
 * the PATCH's transaction, under the job row's lock (FOR UPDATE, taken by
 * updateJob), after the row was updated and after assertNoLiveRun: no run
 * holds the lease. updateJob calls it through its `onRetarget` hook (the
 * route passes it: control/ does not import coordination/).
 *
 * 1. An open run (queued, or interrupted with its lease expired) is closed
 *    `cancelled`: its manifest, checkpoint and saga records belong to the old
 *    shape and target; resumed with the new job row it would write the old
 *    table's rows into the new collection and skip the windows it did before.
 *    Its unfinished saga rollback (if any) is not finished: the old target is
 *    left as it is.
 * 2. Enabled job, streamed by CDC (cdc_enabled, `cdc.enabled` in the config):
 *    cdc_applied_lsn = null (and a pending join marker cleared). The stream's
 *    job poll sees the new shape and sets up again; its setup then treats the
 *    job as joining: it sets cdc_resync_requested_at after the slot and
 *    publication of the new shape exist, and requestJoinResync queues the run.
 *    That run is thus bracketed by a stream that writes the NEW target; a run
 *    queued here could start while the old session (old collection, old
 *    mapper) still applies the job and have its windows written to the old
 *    target. Durable: a restart before the stream's setup finds the job with
 *    cdc_applied_lsn null and joins it then (persistCheckpoint never sets a
 *    null cdc_applied_lsn, so the old session cannot undo this).
 * 3. Enabled job without CDC: a `resync` run is queued and announced (NOTIFY
 *    at commit), as requestRun does.
 * 4. Disabled job: nothing runs; enabling it later runs it at its schedule
 *    (a CDC job re-joins its stream then and is resynced anyway).
 */
export async function startRetargetResync(
  db: pg.PoolClient,
  job: Job,
  changed: string[],
  cdcActive: boolean,
  rebuild: RebuildReason[] | null = null,
): Promise<RetargetResync> {
  if (rebuild) return queueSpecRebuild(db, job, changed, rebuild);
  await cancelOpenRuns(
    db,
    job.id,
    `superseded: the job was retargeted (${changed.join(", ")}) before this run finished; a new run syncs the new target`,
  );
  // a new collection or backend has no version behind an alias (yet): plain again
  if (changed.includes("profile_id") || changed.includes("collection_name")) {
    await forgetVersions(db, job.id);
  }
  if (job.enabled !== true) {
    return {
      changed,
      queued: false,
      via: null,
      runId: null,
      message: `the job is disabled: its new target is synced once it is enabled.${oldTarget(changed)}`,
    };
  }
  if (job.cdc_enabled === true && cdcActive) {
    await resetCdcJoin(db, job.id);
    return {
      changed,
      queued: true,
      via: "cdc_join",
      runId: null,
      message: `the CDC stream re-joins the job with its new target and queues a full resync (within seconds).${oldTarget(changed)}`,
    };
  }
  const runId = await insertQueuedRun(db, job.id, "resync");
  await announceRunRequested(db, job.id);
  return {
    changed,
    queued: true,
    via: "run",
    runId,
    message: `a full run of the new target is queued (run ${runId}).${oldTarget(changed)}`,
  };
}

/**
 * A spec change that needs a new collection (control/jobs.ts
 * checkDocumentUpdate; never a CDC job, never a move to another collection):
 * queues a rebuild run with reason `spec_change`, in the PATCH's transaction
 * under the job row's lock, after the row was written and no run holds the
 * lease. The live version is left alone: nothing but the rebuild's swap
 * changes what searchers see.
 *
 * - a queued, never started rebuild -> it is kept (it builds from the job as
 *   it is when it starts, i.e. the new spec) and gets the new cause
 * - a queued, never started other run -> cancelled (it wrote nothing; its
 *   plain sync would write the new design into the live version)
 * - any started open run (interrupted sync, rebuild mid-build, rollback)
 *   -> OpenRunConflictError (409): the PATCH is rolled back with it; the spec
 *   is changed after that run finished. A rebuild mid-build would otherwise
 *   swap in a version of the OLD spec, and an interrupted sync would write
 *   the new design into the live version
 * - otherwise a new queued rebuild; NOTIFY at commit. A disabled job's
 *   rebuild waits until the job is enabled (no plain sync runs before it,
 *   the open run is the rebuild)
 */
async function queueSpecRebuild(
  db: pg.PoolClient,
  job: Job,
  changed: string[],
  reasons: RebuildReason[],
): Promise<RetargetResync> {
  const cause = { reason: "spec_change" as const, detail: describeReasons(reasons) };
  let runId = await recauseQueuedRebuild(db, job.id, cause);
  if (!runId) {
    await cancelUnstartedRun(db, job.id, "superseded: a spec change queued a rebuild of the job");
    const open = await selectOpenRun(db, job.id);
    if (open) throw new OpenRunConflictError(job.id, open.id, open.trigger, "change the spec");
    runId = await insertQueuedRun(db, job.id, "rebuild", cause);
  }
  // plain syncs must not write the new design into the live version until the swap
  await markRebuildRequired(db, job.id, cause.detail);
  await announceRunRequested(db, job.id);
  const when =
    job.enabled === true ? "" : " The job is disabled: the rebuild runs once it is enabled.";
  return {
    changed,
    queued: true,
    via: "rebuild",
    runId,
    message: `the change needs a new collection (${cause.detail}): a rebuild is queued (run ${runId}); the live collection serves until its swap.${when}`,
  };
}
