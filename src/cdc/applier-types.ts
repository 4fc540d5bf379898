import type { WatermarkRegistry } from "../coordination/watermarks.js";
import type { Checkpoint } from "../db/repositories/cdc-checkpoint.js";
import type { Logger } from "../lifecycle/logger.js";
import type { RelationInfo } from "./events.js";
import type { JobTarget, WriterOptions } from "./writer.js";

/** What one flush made durable in Typesense; defined beside the statements that persist it. */
export type { Checkpoint };

/** Row change operations, as counted in cdc_changes_total{op}. */
export type ChangeOp = "insert" | "update" | "delete" | "truncate";

/** Metrics hooks (metrics/cdc-observer.ts); the applier calls them after Typesense confirmed. */
export interface ApplierObserver {
  /** `n` row changes of one job were written. */
  applied(jobId: string, op: ChangeOp, n: number): void;
  /** One flush of one job was written: Typesense confirmation minus commit time, ms. */
  lag(jobId: string, ms: number): void;
}

export interface ApplierOptions {
  log: Logger;
  /** cdc.flush_max_docs: pending docs (all jobs) that trigger a write, also inside a transaction. */
  flushMaxDocs: number;
  writer: WriterOptions;
  watermarks: WatermarkRegistry;
  /**
   * Persists a checkpoint (dead letters, job cdc_applied_lsn, stream
   * confirmed_lsn) and then acknowledges `lsn` to the server. The applier
   * calls it only after Typesense confirmed every write up to `lsn`.
   */
  checkpoint(c: Checkpoint): Promise<void>;
  /** A relation message: the stream re-reads the table if its columns changed. */
  onRelation?(relation: RelationInfo): Promise<void>;
  /**
   * Parks a job whose writes failed past their budget. Must be durable when it
   * resolves (the job out of the stream, its resync marker set): the applier
   * then drops the job's changes and lets later checkpoints move past them.
   * Unset: the failure stops the pipeline like any other.
   */
  park?(jobId: string, err: Error): Promise<void>;
  observer?: ApplierObserver;
  /**
   * Re-reads a job's live and building version (the control DB) before a
   * watermark window of the job is written: a rebuild's barrier window
   * (fullsync/rebuild.ts) makes the stream learn of its building version at
   * that point of the stream order. Returns the target's versions part
   * (stream-jobs.ts versionsOf), or null when the job is gone. Unset: never re-read.
   */
  jobVersions?(jobId: string): Promise<Pick<JobTarget, "building" | "noCreate"> | null>;
  now?: () => number;
  /**
   * The writer went idle with changes pending (a write or checkpoint completed). Called
   * outside the stream's lock: the stream must call flushIfIdle() UNDER its lock (it
   * re-checks, so a late or repeated call does nothing harmful).
   */
  onIdle?(): void;
}
