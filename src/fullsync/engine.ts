import {
  claimLease,
  keepLease,
  type Lease,
  LeaseLostError,
  releaseLease,
} from "../db/repositories/lease.js";
import { ManifestBuildStopped } from "../db/repositories/manifest-build.js";
import { type ManifestProgress, openRunManifest } from "../db/repositories/manifest-progress.js";
import { describeAndMap } from "../documents/index.js";
import type { Logger } from "../lifecycle/index.js";
import { prepareCollection } from "./collection.js";
import type { RunContext } from "./context.js";
import type {
  FullSyncEngine,
  FullSyncEngineOptions,
  RunJobOptions,
  RunResult,
} from "./engine-types.js";
import { sweepOrphans } from "./orphan-sweep.js";

export { RunFailure } from "./collection.js";

import { StreamAttachedError, StreamStoppedError } from "../coordination/errors.js";
import { JobNotFoundError, RunConflictError } from "../coordination/request-run.js";
import {
  finishRun,
  type JobRow,
  loadJob,
  markJobRunning,
  type RunCounters,
  type RunRow,
  setStage,
  startOrResumeRun,
} from "../db/repositories/runs.js";
import { createdUpto, hasBackups, hasSagaRecords } from "../db/repositories/saga-backups.js";
import { createWindowReader, type WindowReader } from "../documents/window-reader.js";
import { withImportRetry } from "./retry.js";
import { beginRollback, type RollbackOutcome, runRollback } from "./rollback.js";
import { next } from "./run-stage.js";
import { runWindows } from "./windows-loop.js";

export type { FullSyncEngine, FullSyncEngineOptions, RunJobOptions, RunResult };

const notDescribed = () =>
  Promise.reject(new Error("window reader used before the table was described"));
const NO_READER: WindowReader = {
  read: notDescribed,
  readOrdered: notDescribed,
  existing: notDescribed,
  readOrderedRendered: notDescribed,
};

export function createFullSyncEngine(opts: FullSyncEngineOptions): FullSyncEngine {
  const { control } = opts;

  async function runJob(jobId: string, o: RunJobOptions): Promise<RunResult> {
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
      await markJobRunning(control, jobId, lease.token);
      const runLog = log.child({ runId: run.id });
      runLog.info(
        { resumed, stage: run.stage, nextManifestSeq: run.nextManifestSeq },
        resumed ? "resuming full sync run" : "starting full sync run",
      );
      const result = await attempt(job, run, resumed, lease, keeper.lost, o.signal, runLog);
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

  async function attempt(
    job: JobRow,
    run: RunRow,
    resumed: boolean,
    lease: Lease,
    lost: AbortSignal,
    signal: AbortSignal | undefined,
    log: Logger,
  ): Promise<RunResult> {
    const counters: RunCounters = { ...run.counters };
    const result = (
      status: RunResult["status"],
      error: string | null = null,
      rollback: RollbackOutcome | null = null,
    ): RunResult => ({ runId: run.id, jobId: job.id, status, resumed, counters, error, rollback });
    const source = opts.source(job.sourceClientName);
    const backend = await opts.backendFor(job.profileId);
    const ctx: RunContext = {
      control,
      source,
      backend,
      job,
      runId: run.id,
      lease,
      leaseTtlMs: opts.leaseTtlMs,
      reader: NO_READER, // replaced once the table is described
      refreshOnRollback: job.cdcEnabled && resumed,
      ...(opts.mayRun ? { mayRun: () => opts.mayRun!(job) } : {}),
      ensureReader: async () => {
        if (ctx.reader === NO_READER)
          ctx.reader = createWindowReader({ source, mapper: (await describe()).mapper });
      },
      sagaEnabled: opts.sagaBackupEnabled,
      collectionEmptyAtStart: false,
      renderDocuments: opts.renderDocumentsInSql ?? true,
      sagaCreatedUpto: 0,
      sagaMarkerMode: false,
      counters,
      log,
      onRollbackBatch: opts.onRollbackBatch,
      ...(opts.watermarks ? { watermarks: opts.watermarks } : {}),
      signal: lost,
      retry: (what, fn) =>
        withImportRetry(
          {
            maxAttempts: opts.importMaxAttempts,
            baseMs: opts.importRetryBaseMs,
            signal: lost,
            random: opts.random,
            onRetry: (r) => {
              counters.retries++;
              log.warn({ ...r, err: r.error, error: undefined }, "retryable Typesense error");
            },
          },
          what,
          fn,
        ),
    };
    const finish = async (
      status: "succeeded" | "failed",
      error: string | null,
      total: number | null,
    ): Promise<boolean> => {
      const client = await control.connect();
      try {
        return await finishRun(client, {
          runId: run.id,
          jobId: job.id,
          leaseToken: lease.token,
          status,
          error,
          counters,
          sourceRowCount: total,
        });
      } finally {
        client.release();
      }
    };
    const stopped = () => signal?.aborted === true || lost.aborted || ctx.mayRun?.() === false;
    // a declaration (hoisted): ensureReader above calls it too
    function describe() {
      return describeAndMap(source, {
        schema: job.sourceSchemaName,
        table: job.sourceTableName,
        documentIdColumn: job.documentIdColumn,
        includedColumns: job.includedColumns,
        queryableFields: job.queryableFields,
      });
    }

    const fail = async (cause: string): Promise<RunResult> => {
      let rollback: RollbackOutcome | null = null;
      let error = cause;
      if (
        ctx.sagaEnabled &&
        (run.stage === "rollback" || (await hasSagaRecords(control, run.id)))
      ) {
        await beginRollback(ctx, cause);
        rollback = await runRollback(ctx);
        error =
          rollback.status === "succeeded"
            ? `${cause} (run rolled back: ${rollback.restored} restored, ${rollback.deleted} deleted)`
            : `${cause} (rollback failed: ${rollback.error})`;
      }
      if (!(await finish("failed", error, run.manifestTotalRows))) return result("interrupted");
      log.error({ error }, "full sync run failed");
      return result("failed", error, rollback);
    };

    const interrupted = (e: unknown) => {
      if (e instanceof ManifestBuildStopped) return true; // stopped with the run: resumes later
      if (e instanceof StreamStoppedError || e instanceof StreamAttachedError) {
        log.warn({ err: e }, "the CDC stream changed under the run; it resumes at its checkpoint");
        return true;
      }
      if (!(e instanceof LeaseLostError) && !lost.aborted) return false;
      log.warn({ err: e }, "lease lost; the new holder resumes this run");
      return true;
    };
    // From here on, ids the CDC stream changes are recorded: a rollback skips them.
    const watch = opts.watermarks?.watchChanges(job.id);
    if (watch) ctx.cdcChanges = watch;
    try {
      return await body();
    } finally {
      watch?.stop();
    }

    async function body(): Promise<RunResult> {
      let cause: string;
      // A crash during rollback resumes the rollback, with the original cause.
      if (run.stage === "rollback") cause = run.errorMessage ?? "run failed";
      else {
        try {
          return await main();
        } catch (e) {
          if (interrupted(e)) return result("interrupted");
          cause = (e as Error)?.message ?? String(e);
        }
      }
      try {
        return await fail(cause);
      } catch (e) {
        if (interrupted(e)) return result("interrupted");
        throw e;
      }
    }

    async function main(): Promise<RunResult> {
      const { table, mapper } = await describe();
      ctx.reader = createWindowReader({ source, mapper });
      ctx.collectionEmptyAtStart = await prepareCollection(ctx, mapper);

      // The manifest is built in committed chunks while the windows run
      // (manifest-build.ts); a resumed run continues it after its last chunk.
      const m = await openRunManifest({
        control,
        source,
        run,
        mapper,
        estimatedRows: table.estimatedRows,
        lost,
        signal,
        chunks: opts.manifestChunks,
        log,
      });
      try {
        return m.fresh
          ? await windowsAndFinish(m.manifest, 0, 0)
          : await windowsAndFinish(m.manifest, run.nextManifestSeq, run.manifestProcessedRows);
      } finally {
        await m.close();
      }
    }

    async function windowsAndFinish(
      manifest: ManifestProgress,
      nextSeq: number,
      processed: number,
    ): Promise<RunResult> {
      if (ctx.sagaEnabled) {
        ctx.sagaCreatedUpto = await createdUpto(control, run.id);
        // The manifest stands in for "did not exist" backups only when nothing
        // can have existed: empty collection, writing from the start, and no
        // per-document backup from an earlier attempt of this run.
        ctx.sagaMarkerMode =
          ctx.collectionEmptyAtStart && nextSeq === 0 && !(await hasBackups(control, run.id));
      }
      const pass = await runWindows(ctx, {
        manifest,
        nextSeq,
        processed,
        stage: run.stage,
        windowSize: opts.windowSize ?? job.windowSize,
        maxWindowsInFlight: opts.maxWindowsInFlight ?? 2,
        readAhead: opts.readAheadWindows ?? 2,
        stopped,
        onWindowCommitted: opts.onWindowCommitted,
      });
      if (pass === "interrupted") return result("interrupted");
      if (stopped()) return result("interrupted");
      // the windows ended on an empty window of the completed manifest
      const total = await manifest.done;
      run.manifestTotalRows = total;
      if (!ctx.collectionEmptyAtStart) {
        // a run resumed in orphan_sweep sweeps again (run-stage.ts)
        await setStage(
          control,
          run.id,
          next(run.stage, "sweep"),
          "deleting docs whose rows are gone",
        );
        const orphans = await sweepOrphans(ctx, total);
        if (orphans > 0) log.info({ orphans }, "orphans deleted");
      }
      if (!(await finish("succeeded", null, total))) return result("interrupted");
      return result("succeeded");
    }
  }

  return { runJob };
}
