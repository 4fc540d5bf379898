import { openBracket } from "../coordination/bracket.js";
import {
  type CheckpointInput,
  commitCheckpoint,
  type Rejected,
} from "../db/repositories/checkpoint.js";
import { invalidateHashes } from "../db/repositories/doc-hashes.js";
import { type Backup, raiseCreatedUpto, saveBackups } from "../db/repositories/saga-backups.js";
import { documentValuesEqual, serializeDocument } from "../json/codec.js";
import { type Document, jsonLine } from "../typesense/types.js";
import type {
  AttemptEnv,
  AttemptState,
  CollectionEnv,
  ImportLineResult,
  WindowSummary,
} from "./context.js";
import { md5Hex, prepareResyncWindow } from "./resync-window.js";
import { writeThroughStream } from "./watermarked.js";
import type { PreparedWindow, RenderedDocs, WindowHashes } from "./window-types.js";

export type { PreparedWindow, RenderedDocs, WindowHashes, WindowSummary };

/**
 * Read phase of a window: rows by id -> pre-images -> diff. It writes nothing,
 * so the engine runs it for window N+1 while window N is being written (the
 * windows' id sets are disjoint), and may drop it on abort.
 *
 * When the collection was empty when the attempt started (and ids are unique),
 * no doc of a later window can exist yet: the pre-image export is skipped.
 */
export async function prepareWindow(
  ctx: CollectionEnv,
  rows: readonly { seq: number; docId: string }[],
): Promise<PreparedWindow> {
  if (rows.length === 0) throw new Error("prepareWindow: empty window");
  const ids = rows.map((r) => r.docId);
  // CDC: the ids are registered BEFORE the rows are read (watermarked.ts)
  const bracket = openBracket(ctx, ids);
  // Re-sync with content hashes: only rows that differ leave Postgres
  // (resync-window.ts). Never bracketed: the stream writes Document objects.
  if (!bracket && ctx.hashing && !ctx.collectionEmptyAtStart) {
    return prepareResyncWindow(ctx, rows, ctx.hashing);
  }
  let read: Awaited<ReturnType<typeof ctx.reader.readOrdered>>;
  let pre: Map<string, Document>;
  // Postgres renders the documents when nothing needs them as objects: no
  // pre-image to compare (empty collection at start), no CDC bracket (the
  // stream writes Document objects), and a backend that imports raw lines.
  // Otherwise (or when the mapper/server does not qualify) the JS path.
  if (
    ctx.renderDocuments &&
    ctx.collectionEmptyAtStart &&
    !bracket &&
    ctx.backend.importJsonLines
  ) {
    const r = await ctx.reader.readOrderedRendered(ids);
    if (r) {
      const rendered = { ids: r.ids, lines: r.lines };
      // the claims of what this window writes: md5 of the very line sent
      const hashes = ctx.hashing ? renderedHashes(rendered) : null;
      // Rows deleted since the manifest have no doc (empty collection): nothing vanished.
      return {
        rows,
        changed: [],
        rendered,
        pre: new Map(),
        unchanged: 0,
        vanished: [],
        bracket,
        hashes,
      };
    }
  }
  try {
    read = await ctx.reader.readOrdered(ids);
    pre = ctx.collectionEmptyAtStart
      ? new Map<string, Document>()
      : await ctx.retry("export pre-images", () =>
          ctx.backend.getDocuments(ctx.job.collectionName, ids),
        );
  } catch (e) {
    bracket?.abandon();
    throw e;
  }
  const changed: Document[] = [];
  let unchanged = 0;
  for (const doc of read.documents.values()) {
    const old = pre.get(doc.id);
    if (old && documentValuesEqual(old, doc)) unchanged++;
    else changed.push(doc);
  }
  // Rows deleted from the source since the manifest: their docs are orphans now.
  const vanished = read.missing.filter((id) => pre.has(id));
  // JS path of a job whose claims are kept (a bracketed window): the claims
  // on what it changes are deleted before the write, none is stored
  const hashes =
    ctx.hashing && !ctx.collectionEmptyAtStart
      ? {
          md5: new Map<string, string>(),
          keep: [],
          stale: [...changed.map((d) => d.id), ...vanished],
        }
      : null;
  return { rows, changed, rendered: null, pre, unchanged, vanished, bracket, hashes };
}

function renderedHashes(r: RenderedDocs): WindowHashes {
  const md5 = new Map<string, string>();
  r.ids.forEach((id, i) => {
    md5.set(id, md5Hex(jsonLine(r.lines, i)));
  });
  return { md5, keep: [], stale: [] };
}

/** A window's confirmed Typesense writes, not yet checkpointed. */
export interface WrittenWindow {
  importedIds: string[];
  deletedIds: string[];
  rejected: Rejected[];
  superseded: string[];
}

/*
 * Write phase, in this order (each step is safe to repeat after a crash,
 * because the checkpoint only moves at the end):
 *
 *   [saga] commit backups (saveWindowBackups) -> upsert changed docs (retry) +
 *   delete vanished docs (writeWindow) -> ONE statement: lease fence +
 *   checkpoint + counters + dead letters (checkpointWindow, checkpoint.ts).
 *   A rejected line (4xx) is a dead letter, not a retry.
 *
 * Write to Typesense first, persist the checkpoint second: a crash in between
 * repeats the window, and every write in it is idempotent (upsert, delete).
 * The windows loop (windows-loop.ts) may have two windows' writes in flight;
 * backups and checkpoints still run strictly in seq order.
 */

/**
 * [saga] The window's backups (or the created-range marker), durable before
 * its write. Callers run it for windows in seq order (the marker only rises).
 */
export async function saveWindowBackups(
  ctx: AttemptEnv,
  state: AttemptState,
  w: PreparedWindow,
): Promise<void> {
  const { rows, pre, vanished } = w;
  const changedIds = w.rendered ? w.rendered.ids : w.changed.map((d) => d.id);
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;

  const saga = state.saga;
  if (ctx.sagaEnabled && saga.markerMode) {
    // First sync: every doc of the window is new (nothing existed, no export).
    // The run-level marker covers them, durable before the write (saga-backups.ts).
    const toSeq = last.seq + 1;
    if (toSeq > saga.createdUpto) {
      await raiseCreatedUpto(ctx.control, ctx.runId, toSeq);
      saga.createdUpto = toSeq;
    }
  } else if (ctx.sagaEnabled && (changedIds.length > 0 || vanished.length > 0)) {
    const seqOf = new Map(rows.map((r) => [r.docId, r.seq]));
    const backups: Backup[] = [];
    // Seqs below the created-range marker were written first by this run into
    // an empty collection: their true pre-image is "did not exist", which the
    // marker already records (an export now would see the run's own write).
    const covered = (seq: number) => seq < saga.createdUpto;
    for (const id of changedIds) {
      const seq = seqOf.get(id) ?? first.seq;
      if (covered(seq)) continue;
      backups.push({ docId: id, preImage: pre.get(id) ?? null, manifestSeq: seq });
    }
    for (const id of vanished) {
      const seq = seqOf.get(id)!;
      if (covered(seq)) continue;
      backups.push({ docId: id, preImage: pre.get(id) ?? null, manifestSeq: seq });
    }
    // Backups are durable before the write (see db/repositories/saga-backups.ts).
    await saveBackups(ctx.control, ctx.runId, backups);
  }
  // Claims on docs about to change are gone before the write: a failed or
  // partial write then leaves no claim (the doc is compared again next run).
  if (w.hashes && w.hashes.stale.length > 0) {
    await invalidateHashes(ctx.control, ctx.job.id, w.hashes.stale);
  }
}

/**
 * The window's Typesense writes (upsert changed, delete vanished), directly or
 * through the CDC stream at a watermark. Touches no shared state: counters and
 * dead letters are applied by checkpointWindow, in seq order.
 */
export async function writeWindow(ctx: CollectionEnv, w: PreparedWindow): Promise<WrittenWindow> {
  if (w.rendered) return writeRendered(ctx, w.rendered, w.vanished);
  const { changed, vanished } = w;
  // CDC streams the job: the stream writes the window at its high watermark
  if (w.bracket && (changed.length > 0 || vanished.length > 0)) {
    return writeThroughStream(ctx, w.bracket, changed, vanished);
  }
  const collection = ctx.job.collectionName;
  let imported: ImportSplit = { importedIds: [], rejected: [] };
  if (changed.length > 0) {
    const results = await ctx.retry("import", () =>
      ctx.backend.importDocuments(collection, changed, { action: "upsert" }),
    );
    imported = splitImportResults(
      changed.map((d) => d.id),
      results,
      (i) => serializeDocument(changed[i]!),
    );
  }
  if (vanished.length > 0) {
    await ctx.retry("delete", () => ctx.backend.deleteDocuments(collection, vanished));
  }
  return { ...imported, deletedIds: [...vanished], superseded: [] };
}

/**
 * Import of SQL-rendered lines. The result lines come in body order, so line i
 * is the document of rendered.ids[i] (dead letters get that id and the line
 * as payload). Never bracketed; vanished ids only on a re-sync (resync-window.ts).
 */
async function writeRendered(
  ctx: AttemptEnv,
  r: RenderedDocs,
  vanished: readonly string[],
): Promise<WrittenWindow> {
  let imported: ImportSplit = { importedIds: [], rejected: [] };
  if (r.lines.count > 0) {
    const backend = ctx.backend;
    const results = await ctx.retry("import", () =>
      backend.importJsonLines!(ctx.job.collectionName, r.lines, r.ids, { action: "upsert" }),
    );
    imported = splitImportResults(r.ids, results, (i) => jsonLine(r.lines, i).toString("utf8"));
  }
  if (vanished.length > 0) {
    const collection = ctx.job.collectionName;
    await ctx.retry("delete", () => ctx.backend.deleteDocuments(collection, [...vanished]));
  }
  return { ...imported, deletedIds: [...vanished], superseded: [] };
}

interface ImportSplit {
  importedIds: string[];
  rejected: Rejected[];
}

/**
 * An import's result lines (in body order: line i is `ids[i]`) split into the
 * imported ids and the dead letters (`payload(i)`: the line's document). A
 * result count other than the line count is an error, never guessed around.
 */
function splitImportResults(
  ids: readonly string[],
  results: readonly ImportLineResult[],
  payload: (i: number) => string,
): ImportSplit {
  if (results.length !== ids.length) {
    throw new Error(`import of ${ids.length} documents returned ${results.length} result lines`);
  }
  const importedIds: string[] = [];
  const rejected: Rejected[] = [];
  results.forEach((res, i) => {
    if (res.ok) importedIds.push(ids[i]!);
    else rejected.push({ docId: ids[i]!, code: res.code, error: res.error, payload: payload(i) });
  });
  return { importedIds, rejected };
}

/**
 * The window's checkpoint: counters + ONE control-DB statement. Only after the
 * window's writes were confirmed and every earlier window's checkpoint committed.
 */
export async function checkpointWindow(
  ctx: AttemptEnv,
  state: AttemptState,
  w: PreparedWindow,
  written: WrittenWindow,
  processedBefore: number,
): Promise<WindowSummary> {
  const { rows } = w;
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const { importedIds, deletedIds, rejected, superseded } = written;
  const c = state.counters;
  c.imported += importedIds.length;
  c.unchanged += w.unchanged;
  c.failed += rejected.length;
  c.deleted += deletedIds.length;
  const toSeq = last.seq + 1;
  await commitCheckpoint(ctx.control, {
    lease: ctx.lease,
    leaseTtlMs: ctx.leaseTtlMs,
    runId: ctx.runId,
    nextSeq: toSeq,
    processedRows: processedBefore + rows.length,
    counters: c,
    message: `window ${first.seq}..${last.seq} done`,
    rejected,
    importedIds,
    ...checkpointHashes(ctx, w.hashes, importedIds, rejected),
  });
  return {
    runId: ctx.runId,
    fromSeq: first.seq,
    toSeq,
    rows: rows.length,
    imported: importedIds.length,
    unchanged: w.unchanged,
    failed: rejected.length,
    deleted: deletedIds.length,
    superseded: superseded.length,
  };
}

/**
 * The claims a checkpoint stores (docs Typesense confirmed holding exactly the
 * hashed text, or found equal) and deletes (rejected lines).
 */
function checkpointHashes(
  ctx: AttemptEnv,
  h: WindowHashes | null,
  importedIds: readonly string[],
  rejected: readonly Rejected[],
): Pick<CheckpointInput, "hashes" | "unhashIds"> {
  if (!h) return {};
  const ids: string[] = [];
  const parts: Buffer[] = [];
  for (const id of [...h.keep, ...importedIds]) {
    const hex = h.md5.get(id);
    if (hex === undefined) continue;
    ids.push(id);
    parts.push(Buffer.from(hex, "hex"));
  }
  return {
    hashes: { collection: ctx.job.collectionName, ids, md5: Buffer.concat(parts) },
    unhashIds: rejected.map((r) => r.docId),
  };
}
