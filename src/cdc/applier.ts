import { HEARTBEAT_PREFIX, WATERMARK_PREFIX } from "../coordination/watermarks.js";
import type { FanoutRequest } from "../db/repositories/cdc-fanouts.js";
import type { ApplierOptions, ChangeOp } from "./applier-types.js";
import { JobBatch, type PendingOp } from "./batch.js";
import { JobWriteFailedError } from "./errors.js";
import type { ChangeEvent, RowEvent } from "./events.js";
import { tableKey } from "./events.js";
import type { Lsn } from "./lsn.js";
import { LsnProgress } from "./lsn-progress.js";
import { type FlushJob, type WriteOutcome, WritePipeline } from "./pipeline.js";
import { RowFailures } from "./row-failures.js";
import { rowOps } from "./row-ops.js";
import { ALL_ROOTS, isRoot, specRowOps } from "./spec-target.js";
import {
  type JobTarget,
  type Rejection,
  setVersions,
  truncateCollection,
  windowTarget,
  writeOps,
} from "./writer.js";

/**
 * Turns the event stream into per-job Typesense writes.
 *
 * Transactions arrive whole and in commit order (pgoutput proto 1). Changes
 * are folded into per-job batches (one op per document id, last write wins),
 * which are written when flush_max_docs are pending (also in the middle of a
 * big transaction: memory stays bounded), at a commit when the writer is idle
 * (see #flushIfIdle: batching only while a write is in flight), or when the
 * stream's flush timer fires (the fallback). After a write, the durable LSN moves to the end of the last COMMITTED
 * transaction received, never into an open one: a crash mid-transaction
 * re-sends it whole, and writes are idempotent.
 *
 * Not safe for concurrent calls: the stream serialises every call.
 */
export class Applier {
  readonly #opts: ApplierOptions;
  readonly #writer: ApplierOptions["writer"];
  readonly #now: () => number;
  #targets = new Map<string, (JobTarget & { idColumn: string })[]>();
  #byRelation = new WeakMap<RowEvent["relation"], (JobTarget & { idColumn: string })[] | null>();
  readonly #batches = new Map<string, JobBatch>();
  #pending = 0;
  /** Received vs checkpointed LSN and the commit times lag is measured from (lsn-progress.ts). */
  readonly #lsn = new LsnProgress();
  /** Flushes written and checkpointed in order, several in flight (pipeline.ts). */
  readonly #pipeline: WritePipeline;
  /** Rows that could not become documents (bounded, counted in #pending); dead letters at the next flush. */
  readonly #rowFailures = new RowFailures();
  /** Row changes per job since the last flush, by operation (metrics, once written). */
  #changes = new Map<string, Record<ChangeOp, number>>();
  /**
   * Jobs parked in this session (durably, see #parkOrThrow): their changes are
   * dropped from here on; the session is set up again without them.
   */
  readonly #parked = new Set<string>();

  constructor(opts: ApplierOptions) {
    this.#opts = opts;
    this.#writer = opts.writer;
    this.#now = opts.now ?? Date.now;
    this.#pipeline = new WritePipeline({
      write: (job, signal) => this.#writeJob(job, signal),
      checkpoint: (c) => opts.checkpoint(c),
      now: this.#now,
      onSettled: () => {
        // the lock is not held here: the stream schedules flushIfIdle() under it
        if (this.#wantsIdleFlush()) opts.onIdle?.();
      },
    });
  }

  /** The jobs to apply, keyed by their table; replaces the previous set. */
  setTargets(targets: readonly (JobTarget & { schema: string; table: string })[]): void {
    const m = new Map<string, (JobTarget & { idColumn: string })[]>();
    for (const t of targets) {
      // a spec job reads its relation tables too: their changes name its roots
      const tables = t.spec ? t.spec.tables : [t];
      const target = { ...t, idColumn: t.mapper.idColumn.name };
      for (const tbl of tables) {
        const k = tableKey(tbl.schema, tbl.table);
        const list = m.get(k) ?? [];
        list.push(target);
        m.set(k, list);
      }
    }
    this.#targets = m;
    this.#byRelation = new WeakMap();
    for (const id of [...this.#batches.keys()]) {
      if (!targets.some((t) => t.jobId === id)) this.#batches.delete(id);
    }
  }

  /** A job's versions changed (stream-session.ts jobs poll): later writes use them. */
  updateVersions(jobId: string, v: Pick<JobTarget, "building" | "noCreate">): void {
    const t = [...this.#targets.values()].flat().find((x) => x.jobId === jobId);
    if (t) setVersions(t, v);
  }

  /**
   * A new connection resumes at `lsn` (the durable LSN): everything after it
   * comes again. A write still in flight from the old connection finishes
   * first (its failure does not matter: its changes come again too).
   */
  async reset(lsn: Lsn): Promise<void> {
    await this.#settle().catch(() => {});
    await this.#pipeline.reset();
    for (const b of this.#batches.values()) b.clear();
    this.#pending = 0;
    this.#rowFailures.clear();
    this.#changes = new Map();
    this.#lsn.reset(lsn);
  }

  /** The failure that stopped the pipeline (the stream must reconnect), or null. */
  get failure(): Error | null {
    return this.#pipeline.failure;
  }

  /** Something was received that a flush would write or checkpoint. */
  get dirty(): boolean {
    return this.#pending > 0 || this.#lsn.unflushed;
  }

  /** Commit time of the oldest transaction received but not yet durable, or null. */
  get oldestUnappliedCommitMs(): number | null {
    return this.#pipeline.oldestCommitMs ?? this.#lsn.oldestUnappliedCommitMs;
  }

  /**
   * One event, in stream order. Returns a promise only when the event has to wait (a flush
   * with the pipeline full, a truncate, DDL, a watermark, a heartbeat): a row change or a
   * begin/commit is usually handled synchronously (no promise per change). The caller must
   * not pass the next event before a returned promise settled.
   */
  handle(ev: ChangeEvent, signal: AbortSignal): Promise<void> | undefined {
    switch (ev.kind) {
      case "begin":
        this.#lsn.begin(ev.commitTimeMs);
        this.#limit = this.#batchLimit();
        return undefined;
      case "commit":
        this.#lsn.commit(ev.endLsn, ev.commitTimeMs);
        this.#limit = this.#batchLimit();
        if (this.#pending >= this.#limit) return this.flush(signal, { wait: false });
        return this.flushIfIdle(signal);
      case "insert":
      case "update":
      case "delete":
        this.#row(ev);
        // a big transaction is written in chunks; its LSN is acknowledged only at commit
        return this.#full() ? this.flush(signal, { wait: false }) : undefined;
      default:
        return this.#handleOther(ev, signal);
    }
  }

  /**
   * Flushes at once when the writer is idle (no Typesense write queued or running, room
   * in the pipeline), changes are pending, no transaction is open and the stream is not
   * catching up; else does nothing (returns undefined, no promise). While a write is in
   * flight the changes accumulate, and the pipeline's completion calls opts.onIdle, whose
   * caller runs this again under the stream's lock: one write carries every transaction
   * committed meanwhile. Catching up (#batchLimit's CATCHUP), batches fill to their limit
   * instead: a flush per transaction would cut the catch-up rate. The flush is the usual
   * one (write -> checkpoint -> ack, in order), only started earlier.
   */
  flushIfIdle(signal: AbortSignal): Promise<void> | undefined {
    return this.#wantsIdleFlush() ? this.flush(signal, { wait: false }) : undefined;
  }

  #wantsIdleFlush(): boolean {
    // Catching up is judged as the last transaction was RECEIVED (#limit, set at its
    // commit), not now: transactions that arrived fresh and then waited behind a slow
    // write are not a backlog, and go out the moment that write completes.
    return (
      this.#pending > 0 &&
      !this.#lsn.inTxn &&
      this.#limit <= this.#opts.flushMaxDocs &&
      this.#pipeline.idle(MAX_IN_FLIGHT)
    );
  }

  /**
   * Batch size in force: #batchLimit() as of the last begin/commit, re-read when the batch
   * reaches it (so a long transaction still switches to catch-up batches), not per row.
   */
  #limit = 0;

  #full(): boolean {
    if (this.#pending < this.#limit) return false;
    this.#limit = this.#batchLimit();
    return this.#pending >= this.#limit;
  }

  async #handleOther(ev: ChangeEvent, signal: AbortSignal): Promise<void> {
    switch (ev.kind) {
      case "relation":
        await this.#opts.onRelation?.(ev.relation);
        return;
      case "truncate":
        // a write in flight may hold docs of this table: it must land before the truncate
        await this.#settle();
        for (const rel of ev.relations) {
          for (const t of this.#targets.get(tableKey(rel.schema, rel.table)) ?? []) {
            if (this.#parked.has(t.jobId)) continue;
            if (t.spec && !isRoot(t.spec, rel)) {
              // a lookup or child table emptied: every root renders again (paged)
              this.#emitTo = t.jobId;
              this.#emit({ kind: "fanout", id: "\u0000all", route: ALL_ROOTS, key: [] });
              continue;
            }
            const b = this.#batches.get(t.jobId);
            if (b) {
              this.#pending -= b.size;
              b.clear();
            }
            this.#opts.watermarks.observeTruncate(t.jobId);
            try {
              await truncateCollection(this.#writer, t, signal);
            } catch (e) {
              await this.#parkOrThrow(e);
              continue;
            }
            this.#opts.observer?.applied(t.jobId, "truncate", 1);
          }
        }
        return;
      case "message":
        if (ev.prefix === WATERMARK_PREFIX) {
          await this.#watermark(ev.content, signal);
        }
        // outside a transaction, a non-transactional message's LSN becomes durable once
        // written: this is how heartbeats advance the slot on a quiet database
        if (!ev.transactional && this.#lsn.idle(ev.lsn)) {
          if (ev.prefix === HEARTBEAT_PREFIX) await this.flush(signal);
        }
        return;
    }
  }

  /**
   * Docs per write: flush_max_docs, or CATCHUP_FACTOR times that while
   * catching up (the transaction being received committed over a second ago:
   * the lag target is not at stake, fewer and bigger writes are faster).
   */
  #batchLimit(): number {
    const behind = this.#lsn.behindMs(this.#now());
    return behind > CATCHUP_AFTER_MS
      ? this.#opts.flushMaxDocs * CATCHUP_FACTOR
      : this.#opts.flushMaxDocs;
  }

  #row(ev: RowEvent): void {
    // one lookup per relation object, not a key string per row
    let targets = this.#byRelation.get(ev.relation);
    if (targets === undefined) {
      targets = this.#targets.get(tableKey(ev.relation.schema, ev.relation.table)) ?? null;
      this.#byRelation.set(ev.relation, targets);
    }
    if (!targets) return;
    for (const t of targets) {
      if (this.#parked.has(t.jobId)) continue;
      this.#emitTo = t.jobId;
      const failure = t.spec ? this.#specRow(t, ev) : rowOps(t, ev, this.#emit);
      if (failure) {
        // A row that cannot become a document (NULL id, ...) is a dead letter
        // like a rejected doc; the stream goes on. It counts toward the flush
        // bound; rows without an id share one letter per error kind.
        this.#pending++;
        if (this.#rowFailures.add(failure, ev)) {
          this.#opts.log.error(
            { jobId: t.jobId, err: failure.error },
            "row change cannot be applied",
          );
        }
      } else if (this.#opts.observer) {
        let c = this.#changes.get(t.jobId);
        if (!c) {
          c = { insert: 0, update: 0, delete: 0, truncate: 0 };
          this.#changes.set(t.jobId, c);
        }
        c[ev.kind]++;
      }
    }
  }

  /** A spec job's ops of a row change (spec-target.ts); a row naming no root is a failure. */
  #specRow(t: JobTarget & { idColumn: string }, ev: RowEvent): Rejection | undefined {
    if (specRowOps(t.spec!, t.idColumn, ev, this.#emit)) return undefined;
    return {
      jobId: t.jobId,
      docId: "",
      operation: ev.kind === "delete" ? "delete" : "upsert",
      payload: null,
      code: null,
      error: `a change of ${ev.relation.schema}.${ev.relation.table} carries no key naming the documents it changes (replica identity)`,
    };
  }

  /** Job whose batch #emit feeds (set by #row before each rowOps call). */
  #emitTo = "";
  /** Receives rowOps' ops (one bound function: no closure per change). */
  readonly #emit = (op: PendingOp): void => {
    const jobId = this.#emitTo;
    this.#opts.watermarks.observe(jobId, op.id);
    let b = this.#batches.get(jobId);
    if (!b) {
      b = new JobBatch();
      this.#batches.set(jobId, b);
    }
    const before = b.size;
    b.add(op);
    this.#pending += b.size - before;
  };

  async #watermark(content: string, signal: AbortSignal): Promise<void> {
    // a watermark of another instance, or of a window already abandoned
    if (!this.#opts.watermarks.isDue(content)) return;
    // Write what the stream holds first: when the window resolves, Typesense
    // has every id of it at a version at least as new as the watermark. The
    // window's outcome is taken AFTER that write: a spec job's fanout learns
    // its roots only as it writes them, and each one it renders supersedes
    // the window's (older) read of it.
    await this.flush(signal);
    const due = this.#opts.watermarks.due(content);
    if (!due) return;
    const job = [...this.#targets.values()].flat().find((x) => x.jobId === due.jobId);
    if (!job || this.#parked.has(due.jobId)) {
      due.fail(new Error(`job ${due.jobId} is no longer streamed`));
      return;
    }
    try {
      // The job's versions as of NOW, at this point of the stream order: every
      // change decoded after this watermark is written to the building version
      // too. A rebuild's barrier (an empty window after building_version was
      // committed) relies on it: a change committed after the barrier's
      // watermark is dual-written, one committed before it is in the build's reads.
      const v = await this.#opts.jobVersions?.(due.jobId);
      if (v) setVersions(job, v);
      const t = windowTarget(job, due.collection);
      if (!t) {
        due.fail(
          new Error(
            `job ${due.jobId}: the stream does not write collection ${due.collection} (live ${job.collection}, building ${job.building?.collection ?? "none"})`,
          ),
        );
        return;
      }
      const ops: PendingOp[] = due.docs.map((doc) => ({ kind: "upsert", id: doc.id, doc }));
      for (const id of due.deletes) ops.push({ kind: "delete", id });
      const res = await writeOps(this.#writer, t, ops, signal);
      await this.#opts.checkpoint({
        lsn: null,
        commitTimeMs: Number.NaN,
        lagMs: Number.NaN,
        oldestCommitTimeMs: Number.NaN,
        applied: res.written.length,
        // a full-sync window records its rejections with its run (recordRejections: false)
        rejections: due.recordRejections ? res.rejected : [],
        written: new Map([[job.jobId, res.written]]),
      });
      due.finish({ written: res.written, rejections: res.rejected });
    } catch (e) {
      due.fail(e instanceof Error ? e : new Error(String(e)));
      // the job parked (durably) before the window's failure is passed on: the stream goes on
      await this.#parkOrThrow(e);
    }
  }

  /**
   * Takes everything pending and hands it to the pipeline, which writes it
   * and then checkpoints the last transaction received whole. DURABILITY
   * ORDER, per LSN: Typesense confirmed every write up to it -> checkpoint
   * persisted and acknowledged (opts.checkpoint), in stream order.
   *
   * Up to MAX_IN_FLIGHT flushes run at once: their Typesense writes one after
   * the other in flush order (per-document order), their checkpoints after
   * them, coalesced. With `wait: false` (a full batch in the middle of the
   * stream) the handler returns as soon as fewer than MAX_IN_FLIGHT run, and
   * the next batches are decoded meanwhile; `wait: true` returns when
   * everything is written and checkpointed.
   */
  async flush(signal: AbortSignal, opts: { wait: boolean } = { wait: true }): Promise<void> {
    this.#pipeline.throwIfFailed();
    this.#pending -= this.#rowFailures.size;
    const rejections: Rejection[] = this.#rowFailures.take();
    const changes = this.#changes;
    this.#changes = new Map();
    const work: FlushJob["work"] = [];
    for (const [jobId, batch] of this.#batches) {
      if (batch.size === 0) continue;
      const t = [...this.#targets.values()].flat().find((x) => x.jobId === jobId);
      const ops = batch.take();
      this.#pending -= ops.length;
      if (t) work.push({ t, ops, changes: changes.get(jobId) });
    }
    // take() marks the position checkpointed: the pipeline persists it after the writes
    const pos = this.#lsn.take();
    if (pos.lsn !== null || work.length > 0 || rejections.length > 0) {
      const job: FlushJob = {
        work,
        rejections,
        lsn: pos.lsn,
        fresh: pos.fresh,
        commitTimeMs: pos.commitTimeMs,
        newestCommitMs: pos.newestCommitMs,
        oldestCommitMs: pos.oldestCommitMs,
      };
      this.#pipeline.submit(job, signal);
    }
    if (opts.wait) await this.#settle();
    else await this.#pipeline.waitBelow(MAX_IN_FLIGHT);
  }

  /**
   * Writes one flush, job after job. A job whose writes fail past its retry
   * budget (JobWriteFailedError) is parked and skipped; the other jobs of the
   * flush are written and the flush's checkpoint follows. Safe because the
   * park is durable BEFORE this returns: its transaction (stream-store.ts parkJob)
   * records the resync marker and takes the job out of the stream, and the
   * checkpoint that moves the slot past the dropped changes runs after it.
   */
  async #writeJob(job: FlushJob, signal: AbortSignal): Promise<WriteOutcome> {
    const written = new Map<string, string[]>();
    const rejections: Rejection[] = [];
    const fanouts: FanoutRequest[] = [];
    let applied = 0;
    for (const { t, ops, changes } of job.work) {
      if (this.#parked.has(t.jobId)) continue;
      let res: Awaited<ReturnType<typeof writeOps>>;
      try {
        res = await writeOps(this.#writer, t, ops, signal);
      } catch (e) {
        await this.#parkOrThrow(e);
        continue;
      }
      applied += res.written.length;
      rejections.push(...res.rejected);
      written.set(t.jobId, res.written);
      if (res.fanouts) fanouts.push(...res.fanouts);
      this.#observeWrite(t.jobId, changes, job.newestCommitMs ?? job.commitTimeMs);
    }
    return { applied, rejections, written, fanouts };
  }

  /** Metrics of one job's written flush: its changes by operation and its lag. */
  #observeWrite(
    jobId: string,
    changes: Record<ChangeOp, number> | undefined,
    commitMs: number,
  ): void {
    const o = this.#opts.observer;
    if (!o) return;
    if (changes) {
      for (const op of ["insert", "update", "delete"] as const) {
        if (changes[op] > 0) o.applied(jobId, op, changes[op]);
      }
    }
    if (Number.isFinite(commitMs)) o.lag(jobId, Math.max(0, this.#now() - commitMs));
  }

  /**
   * A job's writes failed past its budget: park it (durable first, then
   * dropped from this session) and go on. Anything else is rethrown (the
   * pipeline stops, the stream reconnects from the durable LSN).
   */
  async #parkOrThrow(e: unknown): Promise<void> {
    if (!(e instanceof JobWriteFailedError) || !this.#opts.park) throw e;
    await this.#opts.park(e.jobId, e);
    this.#parked.add(e.jobId);
    const b = this.#batches.get(e.jobId);
    if (b) this.#pending -= b.take().length;
    const failures = this.#rowFailures.size;
    this.#rowFailures.dropJob(e.jobId);
    this.#pending -= failures - this.#rowFailures.size;
  }

  /** Jobs parked during this session. */
  get parkedJobs(): ReadonlySet<string> {
    return this.#parked;
  }

  /** Waits until every flush is written and checkpointed; rethrows a failure (the stream then reconnects). */
  async #settle(): Promise<void> {
    await this.#pipeline.settle();
  }
}

/** Flushes in flight at once (written or being checkpointed). */
const MAX_IN_FLIGHT = 3;
/** Catching up: the transaction being received committed longer ago than this. */
const CATCHUP_AFTER_MS = 1000;
/** Batch size factor while catching up. */
const CATCHUP_FACTOR = 4;

export type { ApplierOptions, Checkpoint } from "./applier-types.js";
