import type pg from "pg";
import { StreamStoppedError } from "../coordination/errors.js";
import { clearHashes } from "../db/repositories/doc-hashes.js";
import { LeaseLostError, renewLease } from "../db/repositories/lease.js";
import {
  beginRollback as enterRollback,
  finishRollback,
  type RollbackOutcome,
  readRollbackCounts,
  writeRollbackCounts,
} from "../db/repositories/run-rollback.js";
import {
  createdIds,
  createdUpto,
  lowerCreatedUpto,
  markRestored,
  pendingBackups,
} from "../db/repositories/saga-backups.js";
import { inTransaction } from "../db/transaction.js";
import type { WindowReader } from "../documents/window-reader.js";
import type { AttemptEnv, AttemptState, RollbackProgress } from "./context.js";
import { next } from "./run-stage.js";
import { type Compensated, compensate, refreshFromSource } from "./watermarked.js";

/*
 * Saga compensation of a WHOLE run (retries exhausted, or any failure after
 * the run started writing):
 *
 *   windows|orphan_sweep --failure--> rollback(running) --all backups done--> succeeded
 *                                        |  ^                      \--a restore failed--> failed
 *                                        |  +-- crash: resumed here (stage stays 'rollback',
 *                                        v       status 'running'; restored backups skipped)
 *
 * Per batch of backups (doc_id order): restore pre-images (upsert) and delete
 * docs the run created -> ONE transaction: mark the backups restored + the
 * rollback counters. Typesense first, bookkeeping second: a crash in between
 * repeats the batch, which is idempotent.
 *
 * Then the created-range marker of a first sync (saga-backups.ts), from the top down:
 * delete the manifest docs of seqs [upto - BATCH, upto) -> ONE transaction:
 * lower the marker to upto - BATCH + the counters. A resumed rollback goes on
 * from the lowered marker. Marker and backups never cover the same doc.
 *
 * CDC: a doc the stream changed since the run began is never restored or
 * deleted (its doc is the stream's newer version); while the job streams
 * here the compensation writes go through the stream at a watermark, so a
 * change arriving during the rollback wins too (watermarked.ts `compensate`).
 * Skipped docs count as done (marked restored), not as restored/deleted.
 *
 * CDC and a resumed run (ctx.refreshOnRollback): the watch of this attempt
 * cannot know what the stream wrote during an earlier (dead) attempt, so a
 * pre-image may be older than a doc the stream wrote then. Such a rollback
 * sets every doc it would restore or delete to the source's current row
 * instead (deleted when the row is gone), bracketed like the rest: never
 * older than the source, though not the pre-run state. Counted as restored
 * (upserts) and deleted.
 */
export type { RollbackOutcome };

const BATCH = 500;

/**
 * Enters the rollback stage (run-stage.ts "fail"; idempotent: a resumed
 * rollback keeps its counters and its first cause).
 */
export async function beginRollback(
  ctx: AttemptEnv,
  state: AttemptState,
  cause: string,
): Promise<void> {
  const stage = next(state.stage, "fail");
  await enterRollback(ctx.control, ctx.runId, stage, cause);
  state.stage = stage;
}

/** The rollback stage: the backups, then the created-range marker; the outcome is recorded. */
export async function runRollback(ctx: AttemptEnv, state: AttemptState): Promise<RollbackOutcome> {
  const p: RollbackProgress = {
    ...(await readRollbackCounts(ctx.control, ctx.runId)),
    problems: [],
  };
  state.rollback = p;
  // Restores and deletes change docs the content hashes claim: every claim on
  // the collection goes first (also on a resumed rollback), so none outlives
  // a doc it named (docs/full-sync.md "Content hashes").
  await clearHashes(ctx.control, ctx.job.id, ctx.job.collectionName);
  try {
    let reader: WindowReader | null = null;
    if (ctx.refreshOnRollback) {
      reader = (await ctx.described()).reader;
      ctx.log.warn(
        "rollback of a resumed run of a CDC job: docs are refreshed from the source, not restored to their pre-images",
      );
    }
    await restoreBackups(ctx, p, reader);
    await deleteCreatedRange(ctx, p, reader);
  } catch (e) {
    // Not ours any more: the new lease holder resumes the rollback. The same
    // for a CDC stream that stopped under a batch or a leadership that moved
    // (StreamStoppedError): the run stays in stage rollback, interrupted, and
    // whoever may run the job resumes the rollback from the unmarked backups.
    if (e instanceof LeaseLostError || e instanceof StreamStoppedError) throw e;
    return finish(ctx, p, `rollback stopped: ${(e as Error).message}`);
  }
  if (p.problems.length > 0) {
    const shown = p.problems.filter(Boolean);
    return finish(
      ctx,
      p,
      `${p.problems.length} document(s) could not be restored: ${shown.join("; ")}`,
    );
  }
  return finish(ctx, p, null);
}

/**
 * Per batch of backups (doc_id order): compensate in Typesense, then ONE
 * transaction marks them restored + the counters (Typesense first,
 * bookkeeping second: a crash in between repeats the batch, idempotently).
 * With `reader` (refreshOnRollback) the docs are refreshed from the source.
 */
async function restoreBackups(
  ctx: AttemptEnv,
  p: RollbackProgress,
  reader: WindowReader | null,
): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const batch = await pendingBackups(ctx.control, ctx.runId, after, BATCH);
    const lastOfBatch = batch[batch.length - 1];
    if (!lastOfBatch) break;
    after = lastOfBatch.docId;
    ensureMayRun(ctx);
    const c: Compensated = reader
      ? await refreshFromSource(
          ctx,
          reader,
          batch.map((b) => b.docId),
        )
      : await compensate(
          ctx,
          batch.flatMap((b) => (b.preImage === null ? [] : [b.preImage])),
          batch.filter((b) => b.preImage === null).map((b) => b.docId),
        );
    for (const r of c.rejected) noteRejected(p, r);
    if (c.skipped.length > 0) {
      ctx.log.info(
        { skipped: c.skipped.length },
        "rollback skips docs CDC changed since the run began",
      );
    }
    const done = c.done;
    p.restored += c.restored;
    p.deleted += c.deleted;
    await inLeasedTransaction(ctx, async (client) => {
      await markRestored(client, ctx.runId, done);
      await writeRollbackCounts(client, ctx.runId, p.restored, p.deleted);
    });
    await afterBatch(ctx, p);
  }
}

/**
 * The created-range marker of a first sync, from the top down: delete the
 * docs of seqs [upto - BATCH, upto), then ONE transaction lowers the marker
 * + the counters (a resumed rollback goes on from the lowered marker).
 */
async function deleteCreatedRange(
  ctx: AttemptEnv,
  p: RollbackProgress,
  reader: WindowReader | null,
): Promise<void> {
  for (let upto = await createdUpto(ctx.control, ctx.runId); upto > 0; ) {
    const from = Math.max(0, upto - BATCH);
    const ids = await createdIds(ctx.control, ctx.runId, from, upto);
    if (ids.length > 0) {
      ensureMayRun(ctx);
      const c = reader ? await refreshFromSource(ctx, reader, ids) : await compensate(ctx, [], ids);
      p.restored += c.restored;
      p.deleted += c.deleted;
      // refresh upserts can be rejected: reported like failed restores
      // (the marker still moves down: those docs were not in the collection
      // before the run, and a doc Typesense refused was not written)
      for (const r of c.rejected) noteRejected(p, r);
    }
    await inLeasedTransaction(ctx, async (client) => {
      await lowerCreatedUpto(client, ctx.runId, from);
      await writeRollbackCounts(client, ctx.runId, p.restored, p.deleted);
    });
    upto = from;
    await afterBatch(ctx, p);
  }
}

function noteRejected(p: RollbackProgress, r: { docId: string; code: number; error: string }) {
  if (p.problems.length < 5)
    p.problems.push(`restore of ${r.docId} rejected (${r.code}): ${r.error}`);
  else p.problems.push("");
}

/** The test hook, after a batch's bookkeeping committed. */
async function afterBatch(ctx: AttemptEnv, p: RollbackProgress): Promise<void> {
  await ctx.hooks.onRollbackBatch?.({ runId: ctx.runId, restored: p.restored, deleted: p.deleted });
}

/**
 * Compensation writes, like window writes, happen only while this instance
 * may run the job (CDC leadership): else the rollback stops, interrupted, and
 * the new leader resumes it (its stream brackets the writes).
 */
function ensureMayRun(ctx: AttemptEnv): void {
  if (ctx.mayRun && !ctx.mayRun()) {
    throw new StreamStoppedError(
      ctx.job.id,
      new Error("this instance may no longer run the job (CDC leadership moved)"),
    );
  }
}

/** One control-DB transaction, fenced by the lease (renewed in it). */
async function inLeasedTransaction(
  ctx: AttemptEnv,
  fn: (client: pg.PoolClient) => Promise<void>,
): Promise<void> {
  await inTransaction(ctx.control, async (client) => {
    await renewLease(client, ctx.lease, ctx.leaseTtlMs);
    await fn(client);
  });
}

/** Records the outcome (failed when `error` is set) and returns it. */
async function finish(
  ctx: AttemptEnv,
  p: RollbackProgress,
  error: string | null,
): Promise<RollbackOutcome> {
  const { restored, deleted } = p;
  const o: RollbackOutcome = {
    status: error === null ? "succeeded" : "failed",
    restored,
    deleted,
    error,
  };
  await finishRollback(ctx.control, ctx.runId, o);
  return o;
}
