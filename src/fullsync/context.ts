import type pg from "pg";
import type { ChangeWatch, WatermarkCoordinator } from "../coordination/watermarks.js";
import type { Lease } from "../db/repositories/lease.js";
import type { JobRow, RunCounters } from "../db/repositories/runs.js";
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

/** State shared by the stages of one run attempt. */
export interface RunContext {
  control: pg.Pool;
  source: pg.Pool;
  backend: SyncBackend;
  job: JobRow;
  runId: string;
  lease: Lease;
  leaseTtlMs: number;
  reader: WindowReader;
  sagaEnabled: boolean;
  /**
   * The collection held no document when this attempt started and document
   * ids are unique: no pre-image can exist, so windows skip the export and the
   * orphan sweep has nothing to find.
   */
  collectionEmptyAtStart: boolean;
  /** Postgres may render documents for windows that need no comparison (window.ts). */
  renderDocuments: boolean;
  /**
   * The run's saga created-range marker (db/repositories/saga-backups.ts): manifest seqs below it did
   * not exist before the run, so they need no per-document backup; 0 = none.
   */
  sagaCreatedUpto: number;
  /**
   * This attempt began writing the run into an empty collection (from seq 0,
   * no backup yet): windows raise sagaCreatedUpto instead of storing one
   * "did not exist" backup per document.
   */
  sagaMarkerMode: boolean;
  /**
   * CDC coordination (watermarked.ts): windows are bracketed by watermarks
   * while the job streams on this instance; undefined = never.
   */
  watermarks?: WatermarkCoordinator;
  /** Ids the CDC stream changed for the job since this attempt began (saga rollback skips them). */
  cdcChanges?: ChangeWatch;
  /**
   * Saga rollback refreshes docs from the source instead of restoring
   * pre-images (rollback.ts): the job streams through CDC and this attempt
   * resumed a run, so the stream may have written docs during an earlier
   * attempt that cdcChanges never saw.
   */
  refreshOnRollback: boolean;
  /** Whether this instance may still write the job (engine option mayRun); omitted: always. */
  mayRun?: () => boolean;
  /** Sets `reader` up when it is not yet (a resumed rollback skips the windows stage). */
  ensureReader(): Promise<void>;
  /** Aborted when the lease is lost: a window waiting for its watermark gives up. */
  signal?: AbortSignal;
  /** Mutated in place; persisted by every checkpoint. */
  counters: RunCounters;
  /** Runs a Typesense call with the import retry policy (counts retries). */
  retry<T>(what: string, fn: () => Promise<T>): Promise<T>;
  log: Logger;
  /** Test hook: after each rollback batch's bookkeeping committed (awaited). */
  onRollbackBatch?: (p: {
    runId: string;
    restored: number;
    deleted: number;
  }) => void | Promise<void>;
}

/** Re-exported for modules that imported it from here (cdc/). */
export type { ImportLineResult } from "../typesense/index.js";
