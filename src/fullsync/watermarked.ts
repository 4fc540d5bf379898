import { closeBracket, openBracket } from "../coordination/bracket.js";
import type {
  ChangeWatch,
  WatermarkCoordinator,
  WatermarkWindow,
} from "../coordination/watermarks.js";
import type { Rejected } from "../db/repositories/checkpoint.js";
import type { WindowReader } from "../documents/window-reader.js";
import { serializeDocument } from "../json/codec.js";
import type { Document } from "../typesense/types.js";
import type { AttemptEnv, CollectionEnv } from "./context.js";

/**
 * Full sync <-> CDC coordination (DBLog, DESIGN section 5), the engine side:
 * the bracket itself (open, close, re-open when the stream stopped) is
 * coordination/bracket.ts; this file holds what full sync makes of it.
 *
 * INVARIANT: while this instance streams the job (coordinator.isStreaming),
 * a full-sync write of a document happens only inside the CDC stream, at a
 * high watermark, and only for ids the stream did not change after the
 * window's ids were registered. Per window:
 *
 *   (1) openWindow(ids)          BEFORE the rows are read (prepareWindow)
 *   (2) read rows, export pre-images, diff (unchanged docs are not handed over)
 *   (3) [saga] backups durable
 *   (4) close(changed, deletes: vanished) -> the stream writes the survivors at
 *       the watermark; ids it changed after (1) are "superseded" (the stream
 *       carries that version or a newer one) and are not written by the run
 *   (5) checkpoint (counters, dead letters of the window): after (4) resolved,
 *       i.e. after Typesense confirmed the writes
 *
 * So a full sync never writes a row version older than one the stream wrote.
 * When the job is not streamed here (CDC disabled, another instance leads the
 * client, stream down) windows are written directly, as before. When the
 * stream stops while a window waits for its watermark, close() rejects: if a
 * stream is back, the window is registered again and its rows are read again;
 * if no stream applies the job here any more, the run stops and resumes at its
 * checkpoint (StreamStoppedError): never a direct write of rows read under a
 * bracket (the leadership may have moved to an instance that streams on).
 *
 * Counters: `imported` = docs the stream wrote for the window, `failed` =
 * rejected by Typesense (dead letters with the run, origin full_sync),
 * `unchanged` as before; superseded ids are counted in none of them (the run
 * did not write them) and are reported in the window summary.
 *
 * Saga rollback (rollback.ts): `watchChanges` records every id the stream
 * changes for the job from the start of the run attempt; compensation skips
 * those ids (their doc is CDC's newer version), and while streaming its writes
 * are bracketed the same way (open -> skip watched ids -> close), so a change
 * arriving during the rollback is not overwritten either. The watch is in
 * memory and starts with the attempt: the rollback of a resumed run of a CDC
 * job refreshes docs from the source instead (refreshFromSource).
 */
export type { ChangeWatch, WatermarkCoordinator };

export interface BracketedWrite {
  importedIds: string[];
  deletedIds: string[];
  rejected: Rejected[];
  superseded: string[];
}

/**
 * (4): hands the changed docs and vanished ids to the stream (closeBracket:
 * re-registered and re-read if the stream stopped and is back, never written
 * directly) and sorts what the stream wrote into imports and deletes.
 */
export async function writeThroughStream(
  ctx: CollectionEnv,
  bracket: WatermarkWindow,
  changed: readonly Document[],
  vanished: readonly string[],
): Promise<BracketedWrite> {
  const docs = new Map(changed.map((d) => [d.id, d]));
  const { outcome, deletes } = await closeBracket(
    ctx,
    bracket,
    { docs, deletes: vanished },
    (ids) => ctx.reader.read(ids),
  );
  const importedIds: string[] = [];
  const deletedIds: string[] = [];
  for (const id of outcome.written) (deletes.has(id) ? deletedIds : importedIds).push(id);
  const rejected: Rejected[] = outcome.rejections.map((r) => ({
    docId: r.docId,
    code: r.code ?? 0,
    error: r.error,
    payload: r.payload ? serializeDocument(r.payload) : "null",
  }));
  return { importedIds, deletedIds, rejected, superseded: outcome.superseded };
}

export interface Compensated {
  done: string[];
  skipped: string[];
  restored: number;
  deleted: number;
  rejected: Rejected[];
}

/**
 * Saga compensation of one batch with CDC in mind: ids the stream changed
 * since the run began (ctx.cdcChanges) or during this batch are skipped.
 * Returns per id: "done" (written / deleted / skipped) or a rejection.
 */
export function compensate(
  ctx: AttemptEnv,
  restore: readonly Document[],
  remove: readonly string[],
): Promise<Compensated> {
  const ids = [...restore.map((d) => d.id), ...remove];
  return compensateIds(ctx, ids, async () => ({ restore, remove }));
}

/**
 * Rollback of a batch when the pre-images cannot be trusted (ctx.refreshOnRollback:
 * the stream may have written newer versions during an earlier attempt that
 * no watch saw): each doc is set to its row as the source holds it now, read
 * AFTER the ids are registered (so a change after the read supersedes it),
 * and deleted when the row no longer exists. Never older than the source.
 */
export function refreshFromSource(
  ctx: AttemptEnv,
  reader: WindowReader,
  ids: readonly string[],
): Promise<Compensated> {
  return compensateIds(ctx, ids, async () => {
    // backups can hold ids that are not even of the id column's type (orphans
    // swept from the collection): existing() tolerates those, read() would not
    const present = await reader.existing(ids);
    const r = await reader.read([...present]);
    return { restore: [...r.documents.values()], remove: ids.filter((id) => !r.documents.has(id)) };
  });
}

async function compensateIds(
  ctx: AttemptEnv,
  ids: readonly string[],
  load: () => Promise<{ restore: readonly Document[]; remove: readonly string[] }>,
): Promise<Compensated> {
  // open BEFORE the watch is consulted and the batch loaded: a change after
  // this point supersedes the id
  const w = openBracket(ctx, ids);
  let restore: readonly Document[];
  let remove: readonly string[];
  try {
    ({ restore, remove } = await load());
  } catch (e) {
    w?.abandon();
    throw e;
  }
  const watched = (id: string) => ctx.cdcChanges?.has(id) ?? false;
  const skipped = ids.filter(watched);
  const docs = restore.filter((d) => !watched(d.id));
  const dels = remove.filter((id) => !watched(id));
  const r = w
    ? await compensateThroughStream(ctx, w, docs, dels)
    : await compensateDirectly(ctx, docs, dels);
  const all = [...skipped, ...r.superseded];
  return {
    done: [...r.importedIds, ...r.deletedIds, ...all],
    skipped: all,
    restored: r.importedIds.length,
    deleted: r.deletedIds.length,
    rejected: r.rejected,
  };
}

/** No stream applies the job here: restore and delete in Typesense directly (with retries). */
async function compensateDirectly(
  ctx: AttemptEnv,
  docs: readonly Document[],
  dels: readonly string[],
): Promise<BracketedWrite> {
  const collection = ctx.job.collectionName;
  const importedIds: string[] = [];
  const rejected: Rejected[] = [];
  if (docs.length > 0) {
    const results = await ctx.retry("rollback restore", () =>
      ctx.backend.importDocuments(collection, docs, { action: "upsert" }),
    );
    results.forEach((res, i) => {
      const doc = docs[i]!;
      if (res.ok) importedIds.push(doc.id);
      else
        rejected.push({
          docId: doc.id,
          code: res.code,
          error: res.error,
          payload: serializeDocument(doc),
        });
    });
  }
  if (dels.length > 0) {
    await ctx.retry("rollback delete", () => ctx.backend.deleteDocuments(collection, dels));
  }
  return { importedIds, deletedIds: [...dels], rejected, superseded: [] };
}

/**
 * The stream writes the batch at its watermark. The stream stopped before the
 * batch's watermark: closeBracket throws StreamStoppedError (interrupted,
 * still in stage rollback) and the rollback resumes from the unmarked backups,
 * bracketed by whichever stream applies the job then; it never compensates
 * this batch directly.
 */
async function compensateThroughStream(
  ctx: AttemptEnv,
  w: WatermarkWindow,
  docs: readonly Document[],
  dels: readonly string[],
): Promise<BracketedWrite> {
  const { outcome } = await closeBracket(ctx, w, {
    docs: new Map(docs.map((d) => [d.id, d])),
    deletes: dels,
  });
  const delSet = new Set(dels);
  return {
    importedIds: outcome.written.filter((id) => !delSet.has(id)),
    deletedIds: outcome.written.filter((id) => delSet.has(id)),
    rejected: outcome.rejections.map((x) => ({
      docId: x.docId,
      code: x.code ?? 0,
      error: x.error,
      payload: "null",
    })),
    superseded: outcome.superseded,
  };
}
