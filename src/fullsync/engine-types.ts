import type pg from "pg";
import type { RunTrigger } from "../coordination/request-run.js";
import type { JobRow, RunCounters } from "../db/repositories/runs.js";
import type { Logger } from "../lifecycle/index.js";
import type { AttemptHooks, SyncBackend, WindowSummary } from "./context.js";
import type { RebuildPause } from "./rebuild-stage.js";
import type { RollbackOutcome } from "./rollback.js";
import type { WatermarkCoordinator } from "./watermarked.js";

/* The full-sync engine's options and results (engine.ts runs them). */

export interface FullSyncEngineOptions {
  /** Control DB pool (jobs, runs, manifest, backups, dead letters). */
  control: pg.Pool;
  /** Pool of a source client by name (Pools.source). */
  source: (clientName: string) => pg.Pool;
  /** The Typesense backend of a job's profile (main.ts decrypts the key and builds it). */
  backendFor: (profileId: string) => Promise<SyncBackend>;
  /** This instance's name: lease_owner and runs.owner. */
  owner: string;
  log: Logger;
  /** typesense.import_max_attempts: attempts per Typesense call, the first included. */
  importMaxAttempts: number;
  /** typesense.import_retry_base_ms: delay before retry n is base * 2^(n-1), jittered. */
  importRetryBaseMs: number;
  /** typesense.sync_saga_backup_enabled. */
  sagaBackupEnabled: boolean;
  /** fullsync.lease_ttl_ms; the lease is renewed every ttl/3 and at every checkpoint. */
  leaseTtlMs: number;
  /**
   * CDC coordination (shared with the CDC supervisor): while this instance
   * streams a job, its windows are written by the stream at watermarks and
   * saga rollback skips ids the stream changed (watermarked.ts). Omitted: never.
   */
  watermarks?: WatermarkCoordinator;
  /**
   * Whether this instance may still write the job's windows (serve: with CDC,
   * a CDC job only on the leader of its client's stream, once that stream is
   * set up). Checked before each window is written: when it turns false (the
   * leadership moved) the run stops after the windows in flight, interrupted,
   * and the instance that may run the job resumes it at the checkpoint, so no
   * window read here is written unbracketed beside the new leader's stream.
   * Omitted: always.
   */
  mayRun?: (job: JobRow) => boolean;
  /** Test hook: overrides the job's window_size. */
  windowSize?: number;
  /**
   * Windows whose Typesense writes may be in flight at once (default 2):
   * window N+1 is imported while window N's import and checkpoint finish;
   * checkpoints stay strictly in seq order (windows-loop.ts). Tests whose
   * onWindowCommitted hook injects a fault "for the next window" pin 1.
   */
  maxWindowsInFlight?: number;
  /**
   * Windows read ahead while earlier ones are written (default 2; 1 while CDC
   * coordinates the job): two window reads may run in Postgres at once.
   */
  readAheadWindows?: number;
  /**
   * Let Postgres render the documents of first-sync windows when the mapper
   * has a proven SQL rendering (documents/sql-document.ts). Default true; false
   * forces the JS path (bench A/B).
   */
  renderDocumentsInSql?: boolean;
  /**
   * Keep content hashes of written documents so an unchanged re-sync compares
   * inside Postgres (hashing.ts; docs/full-sync.md "Content hashes"). Default
   * false: every checkpoint would insert one control row per document, which
   * costs a first sync more Postgres CPU than the whole sync without it.
   */
  contentHashes?: boolean;
  /**
   * Manifest chunk sizes (manifest-build.ts; defaults 10,000 then 100,000
   * rows): the windows start once the first chunk is committed.
   */
  manifestChunks?: {
    firstChunkRows?: number;
    chunkRows?: number;
    /** Test hook: after each committed chunk but the last (awaited). */
    onChunk?: (built: number) => void | Promise<void>;
  };
  /** Test hook: called after each window's checkpoint committed (awaited). */
  onWindowCommitted?: (w: WindowSummary) => void | Promise<void>;
  /** Test hook: called after each rollback batch committed (awaited). */
  onRollbackBatch?: AttemptHooks["onRollbackBatch"];
  /** Test hook (config testing.rebuild_pause_at): awaited at a rebuild's pause points. */
  rebuildPause?: RebuildPause;
  /** Injectable randomness for retry jitter. */
  random?: () => number;
}

export interface RunJobOptions {
  trigger: RunTrigger;
  /** Aborting stops the run after the current window's checkpoint; the run stays open for resume. */
  signal?: AbortSignal;
}

export interface RunResult {
  runId: string;
  jobId: string;
  /** interrupted: stopped by the signal or a lost lease; the open run resumes later. */
  status: "succeeded" | "failed" | "interrupted";
  /** True when an unfinished run was continued (resume_attempt_count was raised). */
  resumed: boolean;
  counters: RunCounters;
  error: string | null;
  rollback: RollbackOutcome | null;
}

export interface FullSyncEngine {
  /**
   * Claims the job's lease and runs (or resumes) its full sync to the end.
   * Throws JobNotFoundError, or RunConflictError when another holder has the lease.
   */
  runJob(jobId: string, opts: RunJobOptions): Promise<RunResult>;
}
