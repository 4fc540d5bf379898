import type pg from "pg";
import { StreamStoppedError } from "../coordination/errors.js";
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
import type { RunContext } from "./context.js";
import { type Compensated, compensate, refreshFromSource } from "./watermarked.js";

/**
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

/** Enters the rollback stage (idempotent: a resumed rollback keeps its counters). */
export async function beginRollback(ctx: RunContext, cause: string): Promise<void> {
  await enterRollback(ctx.control, ctx.runId, "rollback", cause);
}

export async function runRollback(ctx: RunContext): Promise<RollbackOutcome> {
  let { restored, deleted } = await readRollbackCounts(ctx.control, ctx.runId);
  const problems: string[] = [];
  const noteRejected = (r: { docId: string; code: number; error: string }) => {
    if (problems.length < 5)
      problems.push(`restore of ${r.docId} rejected (${r.code}): ${r.error}`);
    else problems.push("");
  };
  let after: string | null = null;
  try {
    if (ctx.refreshOnRollback) {
      await ctx.ensureReader();
      ctx.log.warn(
        "rollback of a resumed run of a CDC job: docs are refreshed from the source, not restored to their pre-images",
      );
    }
    for (;;) {
      const batch = await pendingBackups(ctx.control, ctx.runId, after, BATCH);
      const lastOfBatch = batch[batch.length - 1];
      if (!lastOfBatch) break;
      after = lastOfBatch.docId;
      ensureMayRun(ctx);
      const c: Compensated = ctx.refreshOnRollback
        ? await refreshFromSource(
            ctx,
            batch.map((b) => b.docId),
          )
        : await compensate(
            ctx,
            batch.flatMap((b) => (b.preImage === null ? [] : [b.preImage])),
            batch.filter((b) => b.preImage === null).map((b) => b.docId),
          );
      for (const r of c.rejected) noteRejected(r);
      if (c.skipped.length > 0) {
        ctx.log.info(
          { skipped: c.skipped.length },
          "rollback skips docs CDC changed since the run began",
        );
      }
      const done = c.done;
      restored += c.restored;
      deleted += c.deleted;
      await inLeasedTransaction(ctx, async (client) => {
        await markRestored(client, ctx.runId, done);
        await writeRollbackCounts(client, ctx.runId, restored, deleted);
      });
      await ctx.onRollbackBatch?.({ runId: ctx.runId, restored, deleted });
    }
    for (let upto = await createdUpto(ctx.control, ctx.runId); upto > 0; ) {
      const from = Math.max(0, upto - BATCH);
      const ids = await createdIds(ctx.control, ctx.runId, from, upto);
      if (ids.length > 0) {
        ensureMayRun(ctx);
        const c = ctx.refreshOnRollback
          ? await refreshFromSource(ctx, ids)
          : await compensate(ctx, [], ids);
        restored += c.restored;
        deleted += c.deleted;
        // refresh upserts can be rejected: reported like failed restores
        // (the marker still moves down: those docs were not in the collection
        // before the run, and a doc Typesense refused was not written)
        for (const r of c.rejected) noteRejected(r);
      }
      await inLeasedTransaction(ctx, async (client) => {
        await lowerCreatedUpto(client, ctx.runId, from);
        await writeRollbackCounts(client, ctx.runId, restored, deleted);
      });
      upto = from;
      await ctx.onRollbackBatch?.({ runId: ctx.runId, restored, deleted });
    }
  } catch (e) {
    // Not ours any more: the new lease holder resumes the rollback. The same
    // for a CDC stream that stopped under a batch or a leadership that moved
    // (StreamStoppedError): the run stays in stage rollback, interrupted, and
    // whoever may run the job resumes the rollback from the unmarked backups.
    if (e instanceof LeaseLostError || e instanceof StreamStoppedError) throw e;
    const error = `rollback stopped: ${(e as Error).message}`;
    return finish(ctx, { status: "failed", restored, deleted, error });
  }
  if (problems.length > 0) {
    const shown = problems.filter(Boolean);
    const error = `${problems.length} document(s) could not be restored: ${shown.join("; ")}`;
    return finish(ctx, { status: "failed", restored, deleted, error });
  }
  return finish(ctx, { status: "succeeded", restored, deleted, error: null });
}

/**
 * Compensation writes, like window writes, happen only while this instance
 * may run the job (CDC leadership): else the rollback stops, interrupted, and
 * the new leader resumes it (its stream brackets the writes).
 */
function ensureMayRun(ctx: RunContext): void {
  if (ctx.mayRun && !ctx.mayRun()) {
    throw new StreamStoppedError(
      ctx.job.id,
      new Error("this instance may no longer run the job (CDC leadership moved)"),
    );
  }
}

/** One control-DB transaction, fenced by the lease (renewed in it). */
async function inLeasedTransaction(
  ctx: RunContext,
  fn: (client: pg.PoolClient) => Promise<void>,
): Promise<void> {
  await inTransaction(ctx.control, async (client) => {
    await renewLease(client, ctx.lease, ctx.leaseTtlMs);
    await fn(client);
  });
}

async function finish(ctx: RunContext, o: RollbackOutcome): Promise<RollbackOutcome> {
  await finishRollback(ctx.control, ctx.runId, o);
  return o;
}
