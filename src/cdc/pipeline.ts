import type { FanoutRequest } from "../db/repositories/cdc-fanouts.js";
import type { ChangeOp, Checkpoint } from "./applier-types.js";
import type { PendingOp } from "./batch.js";
import type { Lsn } from "./lsn.js";
import type { JobTarget, Rejection } from "./writer.js";

/** One flush of the applier: its ops and the checkpoint that follows their write. */
export interface FlushJob {
  /** Ops per job, and the row changes they came from by operation (metrics). */
  work: { t: JobTarget; ops: PendingOp[]; changes?: Record<ChangeOp, number> | undefined }[];
  /** Rows that could not become documents (dead letters with this checkpoint). */
  rejections: Rejection[];
  /** Durable LSN after this flush (end of a committed transaction), or null. */
  lsn: Lsn | null;
  /** A transaction was received since the previous flush (lag is meaningful). */
  fresh: boolean;
  commitTimeMs: number;
  /** Commit time of the newest transaction with changes in this flush (lag metrics). */
  newestCommitMs?: number;
  /** Commit time of the oldest transaction this flush covers (null: none). */
  oldestCommitMs: number | null;
}

export interface WriteOutcome {
  applied: number;
  rejections: Rejection[];
  written: Map<string, string[]>;
  /** Spec jobs' fan-outs, queued by the checkpoint (in flush order). */
  fanouts?: FanoutRequest[];
}

interface Entry {
  job: FlushJob;
  done: Promise<void>;
  resolve(): void;
  outcome?: WriteOutcome;
  confirmedAt?: number;
}

/**
 * Several flushes in flight, in two ordered stages:
 *
 *   flush N:   [write N] ─────> [checkpoint ≤N (coalesced)] ──> acknowledge
 *   flush N+1:          [write N+1] ──────> [checkpoint ≤N+1] ──> acknowledge
 *
 * - Typesense writes run ONE AT A TIME in flush order: two batches may hold the
 *   same document id, so per-document order is the write order.
 * - A checkpoint covers only flushes whose writes all completed, in order: it
 *   persists the LAST completed flush's LSN, never one after a write still
 *   running. Checkpoints run one at a time, off the handler's path; writes
 *   that complete while one runs are merged into the next (one control-DB
 *   transaction for several batches). DURABILITY ORDER per LSN L: every write
 *   up to L confirmed -> checkpoint persisted -> acknowledged (opts.checkpoint).
 * - The first failure stops the pipeline: nothing after it is written or
 *   checkpointed; settle() rethrows it and the stream reconnects from the
 *   durable LSN (reset() clears it).
 */
export class WritePipeline {
  readonly #write: (job: FlushJob, signal: AbortSignal) => Promise<WriteOutcome>;
  readonly #checkpoint: (c: Checkpoint) => Promise<void>;
  readonly #now: () => number;
  /** Flushes submitted and not yet checkpointed, oldest first. */
  #inflight: Entry[] = [];
  #writeTail: Promise<void> = Promise.resolve();
  #written: Entry[] = [];
  #checkpointing = false;
  #failure: Error | null = null;
  /** Flushes submitted whose Typesense write has not completed (queued or running). */
  #writing = 0;
  readonly #onSettled: (() => void) | undefined;

  constructor(o: {
    write: (job: FlushJob, signal: AbortSignal) => Promise<WriteOutcome>;
    checkpoint: (c: Checkpoint) => Promise<void>;
    now: () => number;
    /**
     * A write or a checkpoint completed (the pipeline may be idle now: see `idle`).
     * Called outside the caller's lock: it may only schedule work, never flush itself.
     */
    onSettled?: () => void;
  }) {
    this.#write = o.write;
    this.#checkpoint = o.checkpoint;
    this.#now = o.now;
    this.#onSettled = o.onSettled;
  }

  /**
   * No Typesense write is queued or running and a new flush would not have to wait for
   * room (fewer than `maxInFlight` flushes await their checkpoint): a flush submitted now
   * is written at once.
   */
  idle(maxInFlight: number): boolean {
    return this.#writing === 0 && this.#inflight.length < maxInFlight && !this.#failure;
  }

  get size(): number {
    return this.#inflight.length;
  }

  get failure(): Error | null {
    return this.#failure;
  }

  /** Commit time of the oldest transaction submitted but not checkpointed (null: none). */
  get oldestCommitMs(): number | null {
    for (const e of this.#inflight) if (e.job.oldestCommitMs !== null) return e.job.oldestCommitMs;
    return null;
  }

  submit(job: FlushJob, signal: AbortSignal): void {
    this.throwIfFailed();
    let resolve: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const entry: Entry = { job, done, resolve };
    this.#inflight.push(entry);
    this.#writing++;
    this.#writeTail = this.#writeTail.then(async () => {
      try {
        if (this.#failure) return;
        entry.outcome = await this.#write(job, signal);
        entry.confirmedAt = this.#now();
        this.#written.push(entry);
        void this.#drain();
      } catch (e) {
        this.#fail(e);
      } finally {
        this.#writing--;
      }
      this.#onSettled?.();
    });
  }

  /** Waits until fewer than `n` flushes are in flight (or the pipeline failed). */
  async waitBelow(n: number): Promise<void> {
    while (this.#inflight.length >= n && !this.#failure) await this.#inflight[0]!.done;
    this.throwIfFailed();
  }

  /** Waits for every flush to be written and checkpointed; rethrows a failure. */
  async settle(): Promise<void> {
    while (this.#inflight.length > 0 && !this.#failure) {
      await this.#inflight[this.#inflight.length - 1]!.done;
    }
    this.throwIfFailed();
  }

  throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  /** After a reconnect: waits for what still runs, then forgets the failure. */
  async reset(): Promise<void> {
    await this.#writeTail;
    while (this.#checkpointing) await new Promise((r) => setImmediate(r));
    this.#failure = null;
    this.#inflight = [];
    this.#written = [];
    this.#writing = 0;
  }

  #fail(e: unknown): void {
    this.#failure ??= e instanceof Error ? e : new Error(String(e));
    for (const x of this.#inflight) x.resolve();
    this.#inflight = [];
    this.#written = [];
  }

  async #drain(): Promise<void> {
    if (this.#checkpointing) return;
    this.#checkpointing = true;
    try {
      while (this.#written.length > 0 && !this.#failure) {
        const batch = this.#written;
        this.#written = [];
        await this.#checkpoint(merge(batch));
        for (const x of batch) x.resolve();
        this.#inflight = this.#inflight.filter((x) => !batch.includes(x));
        this.#onSettled?.();
      }
    } catch (e) {
      this.#fail(e);
    } finally {
      this.#checkpointing = false;
    }
  }
}

/**
 * One checkpoint for consecutive written flushes: the last LSN, summed counts,
 * and dead letters as the final state per document (a later write resolves an
 * earlier rejection, a later rejection reopens it).
 */
function merge(entries: readonly Entry[]): Checkpoint {
  if (entries.length === 1 || entries.every(noRejections)) return concat(entries);
  let lsn: Lsn | null = null;
  let commitTimeMs = Number.NaN;
  let lagMs = Number.NaN;
  let oldest = Number.NaN;
  let applied = 0;
  const rejected = new Map<string, Rejection>();
  // rows without a document id (aggregates with a count): no final state to reconcile, all kept
  const unkeyed: Rejection[] = [];
  const written = new Map<string, Set<string>>();
  const key = (job: string, id: string) => `${job}\u0000${id}`;
  for (const e of entries) {
    const { job } = e;
    const out = e.outcome!;
    applied += out.applied;
    for (const r of [...job.rejections, ...out.rejections]) {
      if (r.docId === "") {
        unkeyed.push(r);
        continue;
      }
      written.get(r.jobId)?.delete(r.docId);
      rejected.set(key(r.jobId, r.docId), r);
    }
    for (const [jobId, ids] of out.written) {
      let s = written.get(jobId);
      if (!s) {
        s = new Set();
        written.set(jobId, s);
      }
      for (const id of ids) {
        rejected.delete(key(jobId, id));
        s.add(id);
      }
    }
    if (job.lsn !== null) {
      lsn = job.lsn;
      if (job.fresh) {
        commitTimeMs = job.commitTimeMs;
        lagMs = e.confirmedAt! - job.commitTimeMs;
        if (Number.isNaN(oldest)) oldest = job.oldestCommitMs ?? Number.NaN;
      }
    }
  }
  return {
    lsn,
    commitTimeMs,
    lagMs,
    oldestCommitTimeMs: oldest,
    applied,
    rejections: [...rejected.values(), ...unkeyed],
    written: new Map([...written].map(([j, s]) => [j, [...s]])),
    fanouts: fanoutsOf(entries),
  };
}

/** Every flush's fan-outs, in flush order (each is queued once). */
function fanoutsOf(entries: readonly Entry[]): FanoutRequest[] {
  return entries.flatMap((e) => e.outcome!.fanouts ?? []);
}

function noRejections(e: Entry): boolean {
  return e.job.rejections.length === 0 && e.outcome!.rejections.length === 0;
}

/** merge() without dead letters to reconcile (or one entry): lists appended. */
function concat(entries: readonly Entry[]): Checkpoint {
  let lsn: Lsn | null = null;
  let commitTimeMs = Number.NaN;
  let lagMs = Number.NaN;
  let oldest = Number.NaN;
  let applied = 0;
  const rejections: Rejection[] = [];
  const written = new Map<string, string[]>();
  for (const e of entries) {
    const { job } = e;
    const out = e.outcome!;
    applied += out.applied;
    rejections.push(...job.rejections, ...out.rejections);
    for (const [jobId, ids] of out.written) {
      const l = written.get(jobId);
      if (l) for (const id of ids) l.push(id);
      else written.set(jobId, entries.length === 1 ? ids : [...ids]);
    }
    if (job.lsn !== null) {
      lsn = job.lsn;
      if (job.fresh) {
        commitTimeMs = job.commitTimeMs;
        lagMs = e.confirmedAt! - job.commitTimeMs;
        if (Number.isNaN(oldest)) oldest = job.oldestCommitMs ?? Number.NaN;
      }
    }
  }
  return {
    lsn,
    commitTimeMs,
    lagMs,
    oldestCommitTimeMs: oldest,
    applied,
    rejections,
    written,
    fanouts: fanoutsOf(entries),
  };
}
