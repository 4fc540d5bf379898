import { StreamAttachedError, StreamStoppedError } from "../coordination/errors.js";
import { JobNotFoundError, RunConflictError } from "../coordination/request-run.js";
import { claimLease, keepLease, LeaseLostError, releaseLease } from "../db/repositories/lease.js";
import { ManifestBuildStopped } from "../db/repositories/manifest-build.js";
import { type ManifestProgress, openRunManifest } from "../db/repositories/manifest-progress.js";
import {
  finishRun,
  loadJob,
  markJobRunning,
  type RebuildCause,
  type RunRow,
  startOrResumeRun,
} from "../db/repositories/runs.js";
import { createdUpto, hasBackups, hasSagaRecords } from "../db/repositories/saga-backups.js";
import { type AttemptStart, buildEnv, enterStage, initialState } from "./attempt-env.js";
import { prepareCollection, SchemaMismatchFailure } from "./collection.js";
import type { AttemptEnv, AttemptState, CollectionEnv } from "./context.js";
import type {
  FullSyncEngine,
  FullSyncEngineOptions,
  RunJobOptions,
  RunResult,
} from "./engine-types.js";
import { prepareHashing } from "./hashing.js";
import { sweepOrphans } from "./orphan-sweep.js";
import { runRebuild } from "./rebuild.js";
import { beginRollback, type RollbackOutcome, runRollback } from "./rollback.js";
import { next } from "./run-stage.js";
import { runWindows } from "./windows-loop.js";

export { RunFailure, SchemaMismatchFailure } from "./collection.js";
export type { FullSyncEngine, FullSyncEngineOptions, RunJobOptions, RunResult };

/*
 * One run attempt, as stages over an environment fixed at its start and a
 * small mutable state (context.ts):
 *
 *   runJob        claim the lease, start or resume the run, keep the lease
 *   attempt       build the env and state, watch CDC changes for the rollback
 *   runStages     a run resumed in rollback goes straight to fail()
 *   writeStages   describe, prepare the collection, open the manifest
 *   windowsStage  saga marker, the windows (windows-loop.ts)
 *   sweepStage    orphans (orphan-sweep.ts), when the collection was not empty
 *   finish        finishRun: run, job freshness and lease in one transaction
 *   fail          [saga] rollback (rollback.ts), then finish as failed
 *
 * Every stage change goes through run-stage.ts `next` (enterStage, the
 * manifest's fresh build, beginRollback, finish). An interruption (lost lease,
 * stop, the CDC stream changed under the run) leaves the run open to resume.
 */

export function createFullSyncEngine(opts: FullSyncEngineOptions): FullSyncEngine {
  return { runJob: (jobId, o) => runJob(opts, jobId, o) };
}

async function runJob(
  opts: FullSyncEngineOptions,
  jobId: string,
  o: RunJobOptions,
): Promise<RunResult> {
  const { control } = opts;
  const job = await loadJob(control, jobId);
  if (!job) throw new JobNotFoundError(jobId);
  const lease = await claimLease(control, { jobId, owner: opts.owner, ttlMs: opts.leaseTtlMs });
  if (!lease) throw new RunConflictError(jobId, null, null);
  const log = opts.log.child({ component: "fullsync", jobId });
  const keeper = keepLease(control, lease, {
    ttlMs: opts.leaseTtlMs,
    onError: (err) => log.warn({ err }, "lease renewal failed; retrying"),
  });
  try {
    const { run, resumed } = await startOrResumeRun(control, {
      jobId,
      trigger: o.trigger,
      owner: opts.owner,
    });
    // a rebuild leaves the job's sync status alone: it describes the live
    // version, which serves unchanged until the swap (docs/full-sync.md "Rebuilds")
    if (run.trigger !== "rebuild") await markJobRunning(control, jobId, lease.token);
    const runLog = log.child({ runId: run.id });
    runLog.info(
      { resumed, stage: run.stage, nextManifestSeq: run.nextManifestSeq },
      resumed ? "resuming full sync run" : "starting full sync run",
    );
    const start = { job, run, resumed, lease, lost: keeper.lost, signal: o.signal, log: runLog };
    // a rebuild has its own steps (rebuild.ts): never a plain full sync of the live collection
    const result =
      run.trigger === "rebuild"
        ? await runRebuild(opts, start, attempt)
        : await attempt(opts, start);
    runLog.info({ status: result.status, counters: result.counters }, "full sync run ended");
    return result;
  } finally {
    keeper.stop();
    // No-op when finishRun already released it, or when it was taken over.
    await releaseLease(control, lease).catch((err: unknown) =>
      log.warn({ err }, "could not release the lease; it expires on its own"),
    );
  }
}

async function attempt(opts: FullSyncEngineOptions, a: AttemptStart): Promise<RunResult> {
  const state = initialState(a.run);
  const backend = await opts.backendFor(a.job.profileId);
  // From here on, ids the CDC stream changes are recorded: a rollback skips them.
  const watch = opts.watermarks?.watchChanges(a.job.id);
  const ctx = buildEnv(opts, a, backend, watch, state);
  try {
    return await runStages(ctx, state, a.run);
  } finally {
    watch?.stop();
  }
}

async function runStages(ctx: AttemptEnv, state: AttemptState, run: RunRow): Promise<RunResult> {
  let cause: string;
  let rebuild: RebuildCause | undefined;
  // A crash during rollback resumes the rollback, with the original cause.
  if (state.stage === "rollback") cause = run.errorMessage ?? "run failed";
  else {
    try {
      return await writeStages(ctx, state, run);
    } catch (e) {
      if (interrupted(ctx, e)) return result(ctx, state, "interrupted");
      cause = (e as Error)?.message ?? String(e);
      // the live collection does not match: the failed close queues a rebuild
      if (e instanceof SchemaMismatchFailure) rebuild = e.rebuild;
    }
  }
  try {
    return await fail(ctx, state, cause, rebuild);
  } catch (e) {
    if (interrupted(ctx, e)) return result(ctx, state, "interrupted");
    throw e;
  }
}

async function writeStages(env: AttemptEnv, state: AttemptState, run: RunRow): Promise<RunResult> {
  const { table, mapper, reader } = await env.described();
  const collectionEmptyAtStart = await prepareCollection(env, mapper);
  const hashing = await prepareHashing(env, mapper, collectionEmptyAtStart);
  const ctx: CollectionEnv = { ...env, mapper, reader, collectionEmptyAtStart, hashing };

  // The manifest is built in committed chunks while the windows run
  // (manifest-build.ts); a resumed run continues it after its last chunk.
  const m = await openRunManifest({
    control: ctx.control,
    source: ctx.source,
    run,
    mapper,
    estimatedRows: table.estimatedRows,
    lost: ctx.signal,
    signal: ctx.callerSignal,
    chunks: ctx.manifestChunks,
    log: ctx.log,
    // a fresh build writes the stage this returns, right after the call
    enterStage: () => (state.stage = next(state.stage, "manifest")),
  });
  try {
    return m.fresh
      ? await windowsStage(ctx, state, m.manifest, 0, 0)
      : await windowsStage(ctx, state, m.manifest, run.nextManifestSeq, run.manifestProcessedRows);
  } finally {
    await m.close();
  }
}

async function windowsStage(
  ctx: CollectionEnv,
  state: AttemptState,
  manifest: ManifestProgress,
  nextSeq: number,
  processed: number,
): Promise<RunResult> {
  if (ctx.sagaEnabled) {
    state.saga.createdUpto = await createdUpto(ctx.control, ctx.runId);
    // The manifest stands in for "did not exist" backups only when nothing
    // can have existed: empty collection, writing from the start, and no
    // per-document backup from an earlier attempt of this run.
    state.saga.markerMode =
      ctx.collectionEmptyAtStart && nextSeq === 0 && !(await hasBackups(ctx.control, ctx.runId));
  }
  const pass = await runWindows(ctx, state, { manifest, nextSeq, processed });
  if (pass === "interrupted") return result(ctx, state, "interrupted");
  if (ctx.stopped()) return result(ctx, state, "interrupted");
  // the windows ended on an empty window of the completed manifest
  const total = await manifest.done;
  state.sourceRows = total;
  if (!ctx.collectionEmptyAtStart) await sweepStage(ctx, state, total);
  if (!(await finish(ctx, state, "succeeded", null))) return result(ctx, state, "interrupted");
  return result(ctx, state, "succeeded");
}

async function sweepStage(ctx: CollectionEnv, state: AttemptState, total: number): Promise<void> {
  // a run resumed in orphan_sweep sweeps again (run-stage.ts)
  await enterStage(ctx, state, "sweep", "deleting docs whose rows are gone");
  const orphans = await sweepOrphans(ctx, state, total);
  if (orphans > 0) ctx.log.info({ orphans }, "orphans deleted");
}

async function fail(
  ctx: AttemptEnv,
  state: AttemptState,
  cause: string,
  rebuild?: RebuildCause,
): Promise<RunResult> {
  let rollback: RollbackOutcome | null = null;
  let error = cause;
  if (
    ctx.sagaEnabled &&
    (state.stage === "rollback" || (await hasSagaRecords(ctx.control, ctx.runId)))
  ) {
    await beginRollback(ctx, state, cause);
    rollback = await runRollback(ctx, state);
    error =
      rollback.status === "succeeded"
        ? `${cause} (run rolled back: ${rollback.restored} restored, ${rollback.deleted} deleted)`
        : `${cause} (rollback failed: ${rollback.error})`;
  }
  if (!(await finish(ctx, state, "failed", error, rebuild))) {
    return result(ctx, state, "interrupted");
  }
  ctx.log.error({ error }, "full sync run failed");
  return result(ctx, state, "failed", error, rollback);
}

/** Closes the run; false when the lease was lost (nothing written: the new holder resumes it). */
async function finish(
  ctx: AttemptEnv,
  state: AttemptState,
  status: "succeeded" | "failed",
  error: string | null,
  queueRebuild?: RebuildCause,
): Promise<boolean> {
  const stage = next(state.stage, "finish");
  if (ctx.closeRun) {
    const closed = await ctx.closeRun(status, error, state);
    if (closed) state.stage = stage;
    return closed;
  }
  const client = await ctx.control.connect();
  try {
    const finished = await finishRun(client, {
      runId: ctx.runId,
      jobId: ctx.job.id,
      leaseToken: ctx.lease.token,
      status,
      error,
      counters: state.counters,
      sourceRowCount: state.sourceRows,
      queueRebuild,
    });
    if (finished) state.stage = stage;
    return finished;
  } finally {
    client.release();
  }
}

/** Whether `e` leaves the run open to resume (an interruption), rather than failing it. */
function interrupted(ctx: AttemptEnv, e: unknown): boolean {
  if (e instanceof ManifestBuildStopped) return true; // stopped with the run: resumes later
  if (e instanceof StreamStoppedError || e instanceof StreamAttachedError) {
    ctx.log.warn({ err: e }, "the CDC stream changed under the run; it resumes at its checkpoint");
    return true;
  }
  if (!(e instanceof LeaseLostError) && !ctx.signal.aborted) return false;
  ctx.log.warn({ err: e }, "lease lost; the new holder resumes this run");
  return true;
}

function result(
  ctx: AttemptEnv,
  state: AttemptState,
  status: RunResult["status"],
  error: string | null = null,
  rollback: RollbackOutcome | null = null,
): RunResult {
  const { runId, job, resumed } = ctx;
  return { runId, jobId: job.id, status, resumed, counters: state.counters, error, rollback };
}
