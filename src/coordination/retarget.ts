import type pg from "pg";
import { type Job, resetCdcJoin } from "../db/repositories/jobs.js";
import { forgetVersions } from "../db/repositories/rebuilds.js";
import { cancelOpenRuns, insertQueuedRun } from "../db/repositories/runs.js";
import { announceRunRequested } from "./request-run.js";

/** What a retarget started (returned with the PATCH response). */
export interface RetargetResync {
  /** The fields whose value changed. */
  changed: string[];
  /** true: a full run of the new shape follows by itself. */
  queued: boolean;
  /** "run": a run was queued now; "cdc_join": the CDC stream re-joins the job and queues it. */
  via: "run" | "cdc_join" | null;
  /** The queued run ("run" only). */
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
): Promise<RetargetResync> {
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
