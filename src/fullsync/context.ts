import type pg from "pg";
import type { TableInfo } from "../catalog/index.js";
import type { ChangeWatch, WatermarkCoordinator } from "../coordination/watermarks.js";
import type { Lease } from "../db/repositories/lease.js";
import type { ManifestBuildOptions } from "../db/repositories/manifest-build.js";
import type { JobRow, RunCounters, RunStage } from "../db/repositories/runs.js";
import type { ReadChanged } from "../documents/changed-read.js";
import type { JobDocuments } from "../documents/index.js";
import type { WindowReader } from "../documents/window-reader.js";
import type { Logger } from "../lifecycle/index.js";
import type { TypesenseBackend } from "../typesense/index.js";

/**
 * What a run needs from a Typesense backend: the subset of typesense/'s
 * TypesenseBackend it calls (tests and the CDC applier pass the real one).
 */
export type SyncBackend = Pick<
  TypesenseBackend,
  | "importDocuments"
  | "getDocuments"
  | "deleteDocuments"
  | "exportIds"
  | "ensureCollection"
  | "getCollection"
> &
  // optional: without it (test doubles) every window takes the JS document path
  Partial<Pick<TypesenseBackend, "importJsonLines">>;

/*
 * One run attempt = an environment fixed when the attempt starts (AttemptEnv,
 * built once by attempt-env.ts), a wider one once the table is described and
 * the collection prepared (CollectionEnv), and a small mutable state
 * (AttemptState): the stage as last written, the counters, the saga marker,
 * the rollback's progress. The stages are functions of (env, state)
 * (engine.ts runs them in order); only AttemptState changes during an attempt.
 * The stage files name the env parameter `ctx`.
 */

/** What a stage may read: never written after the attempt starts. */
export interface AttemptEnv {
  readonly control: pg.Pool;
  readonly source: pg.Pool;
  readonly backend: SyncBackend;
  readonly job: JobRow;
  readonly runId: string;
  /** An unfinished run was continued (resume_attempt_count was raised). */
  readonly resumed: boolean;
  readonly lease: Lease;
  readonly leaseTtlMs: number;
  readonly sagaEnabled: boolean;
  /** Postgres may render documents for windows that need no comparison (window.ts). */
  readonly renderDocuments: boolean;
  /** engine option contentHashes (hashing.ts) */
  readonly contentHashes: boolean;
  /**
   * CDC coordination (watermarked.ts): windows are bracketed by watermarks
   * while the job streams on this instance; undefined = never.
   */
  readonly watermarks?: WatermarkCoordinator;
  /** Ids the CDC stream changed for the job since this attempt began (saga rollback skips them). */
  readonly cdcChanges?: ChangeWatch;
  /**
   * Saga rollback refreshes docs from the source instead of restoring
   * pre-images (rollback.ts): the job streams through CDC and this attempt
   * resumed a run, so the stream may have written docs during an earlier
   * attempt that cdcChanges never saw.
   */
  readonly refreshOnRollback: boolean;
  /** Whether this instance may still write the job (engine option mayRun); omitted: always. */
  readonly mayRun?: () => boolean;
  /** Aborted when the lease is lost: a window waiting for its watermark gives up. */
  readonly signal: AbortSignal;
  /** The caller's stop (RunJobOptions.signal): the manifest build stops with it too. */
  readonly callerSignal?: AbortSignal;
  /** The caller's abort, the lost lease or mayRun turned false: the windows stop. */
  stopped(): boolean;
  /**
   * The table described and its mapper and window reader, once per attempt
   * (memoized on success: the windows and a refreshing rollback share them; a
   * failed description is tried again by the next caller).
   */
  described(): Promise<Described>;
  /**
   * Runs a Typesense call with the import retry policy; counts each retry in
   * the attempt's counters (AttemptState.counters, the state it was built with).
   */
  retry<T>(what: string, fn: () => Promise<T>): Promise<T>;
  readonly log: Logger;
  readonly windows: WindowsConfig;
  /** Manifest chunk sizes (engine option manifestChunks). */
  readonly manifestChunks?: Pick<ManifestBuildOptions, "firstChunkRows" | "chunkRows" | "onChunk">;
  readonly hooks: AttemptHooks;
  /**
   * Replaces finishRun at the attempt's end (engine.ts finish): a rebuild's
   * build step (rebuild.ts) records the outcome and goes on to verify, with
   * the run still open. False: the lease was lost.
   */
  readonly closeRun?: CloseRun;
}

export type CloseRun = (
  status: "succeeded" | "failed",
  error: string | null,
  state: AttemptState,
) => Promise<boolean>;

/** The table of the job as this attempt reads it. */
export interface Described {
  readonly table: TableInfo;
  readonly mapper: JobDocuments;
  readonly reader: WindowReader;
}

/** The windows stage's knobs (engine options over the job's window_size). */
export interface WindowsConfig {
  readonly windowSize: number;
  readonly maxWindowsInFlight: number;
  readonly readAhead: number;
}

/** Test hooks (engine options), awaited. */
export interface AttemptHooks {
  /** After each window's checkpoint committed. */
  readonly onWindowCommitted?: (w: WindowSummary) => void | Promise<void>;
  /** After each rollback batch's bookkeeping committed. */
  readonly onRollbackBatch?: (p: {
    runId: string;
    restored: number;
    deleted: number;
  }) => void | Promise<void>;
}

/** What one window did (also passed to the onWindowCommitted hook). */
export interface WindowSummary {
  runId: string;
  /** First manifest seq of the window. */
  fromSeq: number;
  /** next_manifest_seq after the window (exclusive end). */
  toSeq: number;
  rows: number;
  imported: number;
  unchanged: number;
  failed: number;
  deleted: number;
  /** Ids the CDC stream changed during the window: it wrote them, the run did not (watermarked.ts). */
  superseded: number;
}

/** The environment once the table is described and the collection prepared (windows, sweep). */
export interface CollectionEnv extends AttemptEnv {
  readonly mapper: JobDocuments;
  readonly reader: WindowReader;
  /**
   * The collection held no document when this attempt started and document
   * ids are unique: no pre-image can exist, so windows skip the export and the
   * orphan sweep has nothing to find.
   */
  readonly collectionEmptyAtStart: boolean;
  /**
   * The job keeps content hashes (docs/full-sync.md "Content hashes"): the
   * reader of changed rows, or null (spec jobs, mappers without an SQL
   * rendering, a backend without raw-line imports: no claim is kept).
   */
  readonly hashing: ReadChanged | null;
}

/** The saga/progress state of one attempt: the only thing its stages change. */
export interface AttemptState {
  /** The run's stage as last written; moved only by run-stage.ts `next` (attempt-env.ts enterStage). */
  stage: RunStage;
  /** Mutated in place; persisted by every checkpoint. */
  readonly counters: RunCounters;
  /** The exact source row count once the manifest is complete (finishRun's source_row_count). */
  sourceRows: number | null;
  readonly saga: SagaProgress;
  /** Set when the rollback stage starts (rollback.ts). */
  rollback: RollbackProgress | null;
}

export interface SagaProgress {
  /**
   * The run's saga created-range marker (db/repositories/saga-backups.ts):
   * manifest seqs below it did not exist before the run, so they need no
   * per-document backup; 0 = none.
   */
  createdUpto: number;
  /**
   * This attempt began writing the run into an empty collection (from seq 0,
   * no backup yet): windows raise createdUpto instead of storing one
   * "did not exist" backup per document.
   */
  markerMode: boolean;
}

/** A rollback's running totals (persisted per batch) and the rejections it met. */
export interface RollbackProgress {
  restored: number;
  deleted: number;
  /** The first few rejection messages; "" for each one beyond them (counted, not shown). */
  problems: string[];
}

/** Re-exported for modules that imported it from here (cdc/). */
export type { ImportLineResult } from "../typesense/index.js";
