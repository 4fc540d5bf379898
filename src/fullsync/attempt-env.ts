import type { ChangeWatch } from "../coordination/watermarks.js";
import type { Lease } from "../db/repositories/lease.js";
import { type JobRow, type RunRow, setStage } from "../db/repositories/runs.js";
import { describeAndMap, describeSpecJob } from "../documents/index.js";
import { createWindowReader } from "../documents/window-reader.js";
import type { Logger } from "../lifecycle/index.js";
import type { AttemptEnv, AttemptState, CloseRun, Described, SyncBackend } from "./context.js";
import type { FullSyncEngineOptions } from "./engine-types.js";
import { withImportRetry } from "./retry.js";
import { next, type RunStageEvent } from "./run-stage.js";

/** What runJob hands an attempt: the claimed job, its open run and the lease. */
export interface AttemptStart {
  job: JobRow;
  run: RunRow;
  resumed: boolean;
  lease: Lease;
  /** Aborted when the lease is lost. */
  lost: AbortSignal;
  /** The caller's stop (RunJobOptions.signal). */
  signal: AbortSignal | undefined;
  log: Logger;
  /** Replaces finishRun (a rebuild's build step: context.ts AttemptEnv.closeRun). */
  closeRun?: CloseRun;
}

/** The attempt's state as the run row left it (a resumed run goes on from its stage and counters). */
export function initialState(run: RunRow): AttemptState {
  return {
    stage: run.stage,
    counters: { ...run.counters },
    sourceRows: run.manifestTotalRows,
    saga: { createdUpto: 0, markerMode: false },
    rollback: null,
  };
}

/**
 * The attempt's environment, built once. `state` is the attempt's state: the
 * retry policy counts its retries in state.counters (nothing else of the env
 * refers to it).
 */
export function buildEnv(
  opts: FullSyncEngineOptions,
  a: AttemptStart,
  backend: SyncBackend,
  cdcChanges: ChangeWatch | undefined,
  state: AttemptState,
): AttemptEnv {
  const { job, lost, log } = a;
  const source = opts.source(job.sourceClientName);
  const mayRun = opts.mayRun ? () => opts.mayRun!(job) : undefined;
  return {
    control: opts.control,
    source,
    backend,
    job,
    runId: a.run.id,
    resumed: a.resumed,
    lease: a.lease,
    leaseTtlMs: opts.leaseTtlMs,
    sagaEnabled: opts.sagaBackupEnabled,
    renderDocuments: opts.renderDocumentsInSql ?? true,
    contentHashes: opts.contentHashes ?? false,
    refreshOnRollback: job.cdcEnabled && a.resumed,
    ...(opts.watermarks ? { watermarks: opts.watermarks } : {}),
    ...(cdcChanges ? { cdcChanges } : {}),
    ...(mayRun ? { mayRun } : {}),
    signal: lost,
    ...(a.signal ? { callerSignal: a.signal } : {}),
    stopped: () => a.signal?.aborted === true || lost.aborted || mayRun?.() === false,
    described: describeOnce(source, job),
    retry: (what, fn) =>
      withImportRetry(
        {
          maxAttempts: opts.importMaxAttempts,
          baseMs: opts.importRetryBaseMs,
          signal: lost,
          random: opts.random,
          onRetry: (r) => {
            state.counters.retries++;
            log.warn({ ...r, err: r.error, error: undefined }, "retryable Typesense error");
          },
        },
        what,
        fn,
      ),
    log,
    windows: {
      windowSize: opts.windowSize ?? job.windowSize,
      maxWindowsInFlight: opts.maxWindowsInFlight ?? 2,
      readAhead: opts.readAheadWindows ?? 2,
    },
    ...(opts.manifestChunks ? { manifestChunks: opts.manifestChunks } : {}),
    hooks: {
      onWindowCommitted: opts.onWindowCommitted,
      onRollbackBatch: opts.onRollbackBatch,
    },
    ...(a.closeRun ? { closeRun: a.closeRun } : {}),
  };
}

/** Describes the job's table (and builds its reader) on first use; a failure is not kept. */
export function describeOnce(source: AttemptEnv["source"], job: JobRow): () => Promise<Described> {
  let described: Promise<Described> | null = null;
  return () => {
    if (described) return described;
    const src = {
      schema: job.sourceSchemaName,
      table: job.sourceTableName,
      documentIdColumn: job.documentIdColumn,
      includedColumns: job.includedColumns,
      queryableFields: job.queryableFields,
    };
    // A job with a document spec reads every window through the spec's one
    // statement (documents/spec); a job without one exactly as before.
    const spec = job.document;
    const p: Promise<Described> = spec
      ? describeSpecJob(source, src, spec).then((d) => ({
          table: d.resolved.root,
          mapper: d.documents,
          reader: d.reader,
        }))
      : describeAndMap(source, src).then(({ table, mapper }) => ({
          table,
          mapper,
          reader: createWindowReader({ source, mapper }),
        }));
    described = p;
    p.catch(() => {
      if (described === p) described = null;
    });
    return p;
  };
}

/**
 * Writes the stage `event` leads to from the state's stage (run-stage.ts:
 * an edge the diagram lacks throws before anything is written), then records
 * it in the state.
 */
export async function enterStage(
  ctx: AttemptEnv,
  state: AttemptState,
  event: RunStageEvent,
  message: string,
): Promise<void> {
  const stage = next(state.stage, event);
  await setStage(ctx.control, ctx.runId, stage, message);
  state.stage = stage;
}
