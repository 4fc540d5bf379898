import { openBracket } from "../coordination/bracket.js";
import { invalidateHashes } from "../db/repositories/doc-hashes.js";
import { renewLease } from "../db/repositories/lease.js";
import { writeCounters } from "../db/repositories/runs.js";
import { type Backup, saveBackups } from "../db/repositories/saga-backups.js";
import type { AttemptEnv, AttemptState, CollectionEnv } from "./context.js";
import { idsWithoutRow, streamedIdsWithoutRow } from "./rows-gone.js";
import { type BracketedWrite, writeThroughStream } from "./watermarked.js";

/** Ids checked against the source per query. */
const CHUNK = 2000;

/**
 * After a complete pass: delete docs whose row does not exist in the source
 * NOW. Checking the source at sweep time (not the manifest) is what keeps a
 * row inserted after the manifest safe: it exists now, so its doc stays. Docs
 * that are not in the manifest and not in the source are exactly covered; a
 * manifest doc whose row was deleted after its window is deleted as well,
 * which matches the source too.
 *
 * Ids are collected while the export streams (Typesense's export is not a
 * stable cursor under concurrent deletes) and deleted after it ends. Only
 * orphans are held, not the collection's ids.
 *
 * Per chunk of candidates, the delete is bracketed like a window
 * (watermarked.ts) while the job streams here:
 *
 *   (1) openBracket(candidates)     ids registered with the stream
 *   (2) existence re-checked        AFTER (1): rows inserted since the export
 *                                   check (and perhaps already written by the
 *                                   stream) are not candidates any more
 *   (3) [saga] pre-images of the still-missing ids committed
 *   (4) close(deletes) -> the stream deletes them at the high watermark,
 *       except ids it changed after (1) (superseded: the stream carries an
 *       insert of that row, its doc must stay)
 *   (5) counters
 *
 * So a row inserted right after the existence check never loses its document:
 * either its change reached the stream before (1) and (2) sees the row, or the
 * change arrives after (1) and supersedes the delete.
 *
 * When the job is not streamed here (CDC off, or the stream is down: its
 * changes wait in the slot and are applied after the delete, so a doc deleted
 * too early is written again), the chunk is deleted directly right after (2);
 * the direct path re-checks existence once more right before the delete.
 * Remaining window there: a stream that starts applying this job between that
 * last check and the delete request, and writes a row inserted in between
 * (the gate lets only the client's stream leader run CDC jobs' full syncs, so
 * this needs the local stream to come back within those milliseconds).
 *
 * Safe ordering: [saga] pre-images of the orphans committed -> delete in
 * Typesense -> counters. Re-running a sweep after a crash is harmless: deleted
 * docs are no longer exported.
 */
export async function sweepOrphans(
  ctx: CollectionEnv,
  state: AttemptState,
  backupSeq: number,
): Promise<number> {
  const collection = ctx.job.collectionName;
  const orphans = await streamedIdsWithoutRow(ctx.reader, ctx.backend.exportIds(collection), CHUNK);

  let deleted = 0;
  let superseded = 0;
  for (let i = 0; i < orphans.length; i += CHUNK) {
    const candidates = orphans.slice(i, i + CHUNK);
    // (1) BEFORE the re-check: a change of one of the ids after this point supersedes its delete
    const bracket = openBracket(ctx, candidates);
    let gone: string[];
    try {
      gone = await idsWithoutRow(ctx.reader, candidates);
      if (gone.length > 0) await backup(ctx, state, gone, backupSeq);
    } catch (e) {
      bracket?.abandon();
      throw e;
    }
    let r: BracketedWrite;
    if (gone.length === 0) {
      bracket?.abandon();
      r = { importedIds: [], deletedIds: [], rejected: [], superseded: [] };
    } else if (!bracket) r = await deleteDirect(ctx, gone);
    else r = await writeThroughStream(ctx, bracket, [], gone);
    deleted += r.deletedIds.length;
    superseded += r.superseded.length;
    state.counters.deleted += r.deletedIds.length;
    await renewLease(ctx.control, ctx.lease, ctx.leaseTtlMs);
    await writeCounters(ctx.control, ctx.runId, state.counters);
  }
  if (superseded > 0 || deleted < orphans.length) {
    ctx.log.info(
      { candidates: orphans.length, deleted, superseded },
      "orphan sweep: rows that reappeared or changed meanwhile kept their documents",
    );
  }
  return deleted;
}

/** Saga: pre-images of the orphans committed before they are deleted. */
async function backup(
  ctx: AttemptEnv,
  state: AttemptState,
  ids: readonly string[],
  backupSeq: number,
): Promise<void> {
  if (!ctx.sagaEnabled) return;
  const pre = await ctx.retry("export orphans", () =>
    ctx.backend.getDocuments(ctx.job.collectionName, [...ids]),
  );
  const backups: Backup[] = [...pre.values()].map((doc) => ({
    docId: doc.id,
    preImage: doc,
    manifestSeq: backupSeq,
  }));
  // Orphans that are manifest docs below the created-range marker did not
  // exist before the run (the marker deletes them on rollback): no backup.
  await saveBackups(ctx.control, ctx.runId, backups, state.saga.createdUpto);
}

/** Unbracketed delete (no stream applies the job here): existence re-checked right before. */
async function deleteDirect(ctx: CollectionEnv, ids: readonly string[]): Promise<BracketedWrite> {
  const gone = await idsWithoutRow(ctx.reader, ids);
  if (gone.length > 0) {
    // their claims (content hashes) go before the docs do
    await invalidateHashes(ctx.control, ctx.job.id, gone);
    await ctx.retry("delete orphans", () =>
      ctx.backend.deleteDocuments(ctx.job.collectionName, gone),
    );
  }
  return { importedIds: [], deletedIds: gone, rejected: [], superseded: [] };
}
