import { parseJson, serializeDocument } from "../../json/codec.js";
import type { Document } from "../../typesense/types.js";
import type { Db } from "../transaction.js";

/**
 * Saga backups: what each document looked like before this run first wrote it.
 *
 * Safe ordering: backups are committed BEFORE the write to Typesense, in their
 * own control-DB transaction, and the first backup of a doc wins (`on conflict
 * do nothing`). So a crash after the write but before the checkpoint re-runs
 * the window against Typesense's new state without replacing the true
 * pre-image with the run's own write. (Committing the backups with the
 * checkpoint, after the write, would lose exactly that.)
 *
 * pre_image null = the doc did not exist: rollback deletes it.
 *
 * First syncs (the collection was empty when the run began writing) store no
 * per-document rows at all: a run-level marker in
 * typesense_sync_run_created_ranges says "manifest seqs below upto_seq did not
 * exist before this run" (see the created-range functions below). Per-document
 * backups and the marker never cover the same doc: window backups skip seqs
 * below the marker, orphan-sweep backups skip manifest ids below it.
 */
export interface Backup {
  docId: string;
  preImage: Document | null;
  manifestSeq: number;
}

/**
 * `skipManifestBelow`: leave out docs whose id is in the run's manifest with a
 * seq below it (the created-range marker covers them; used by the orphan
 * sweep, whose backups do not know their manifest seq).
 */
export async function saveBackups(
  db: Db,
  runId: string,
  backups: readonly Backup[],
  skipManifestBelow = 0,
): Promise<void> {
  if (backups.length === 0) return;
  await db.query(
    `insert into typesense_sync_run_backups (run_id, doc_id, pre_image, manifest_seq)
     select $1, b.doc_id, b.pre_image::jsonb, b.seq
       from unnest($2::text[], $3::text[], $4::bigint[]) as b(doc_id, pre_image, seq)
      where $5::bigint = 0 or not exists (
              select 1 from typesense_sync_run_manifest_rows m
               where m.run_id = $1 and m.doc_id = b.doc_id and m.seq < $5)
     on conflict (run_id, doc_id) do nothing`,
    [
      runId,
      backups.map((b) => b.docId),
      backups.map((b) => (b.preImage ? serializeDocument(b.preImage) : null)),
      backups.map((b) => b.manifestSeq),
      skipManifestBelow,
    ],
  );
}

/** Whether the run has any backup row. */
export async function hasBackups(db: Db, runId: string): Promise<boolean> {
  const r = await db.query("select 1 from typesense_sync_run_backups where run_id = $1 limit 1", [
    runId,
  ]);
  return (r.rowCount ?? 0) > 0;
}

/** Whether the run recorded anything to compensate (backups or a created range). */
export async function hasSagaRecords(db: Db, runId: string): Promise<boolean> {
  const r = await db.query(
    `select 1 where exists (select 1 from typesense_sync_run_backups where run_id = $1)
                 or exists (select 1 from typesense_sync_run_created_ranges
                             where run_id = $1 and upto_seq > 0)`,
    [runId],
  );
  return (r.rowCount ?? 0) > 0;
}

/** The run's created-range marker: manifest seqs below it did not exist before the run (0 = none). */
export async function createdUpto(db: Db, runId: string): Promise<number> {
  const r = await db.query<{ upto_seq: string }>(
    "select upto_seq from typesense_sync_run_created_ranges where run_id = $1",
    [runId],
  );
  return Number(r.rows[0]?.upto_seq ?? 0);
}

/**
 * Raises the marker to `upto` (never lowers it). Committed BEFORE the write of
 * the window that ends at `upto`, like backups: a crash after the write still
 * finds its docs covered.
 */
export async function raiseCreatedUpto(db: Db, runId: string, upto: number): Promise<void> {
  await db.query(
    `insert into typesense_sync_run_created_ranges (run_id, upto_seq) values ($1, $2)
     on conflict (run_id) do update
       set upto_seq = greatest(typesense_sync_run_created_ranges.upto_seq, excluded.upto_seq)`,
    [runId, upto],
  );
}

/** Rollback: the manifest ids with seq in [from, upto), the top batch of the marker. */
export async function createdIds(
  db: Db,
  runId: string,
  from: number,
  upto: number,
): Promise<string[]> {
  const r = await db.query<{ doc_id: string }>(
    `select doc_id from typesense_sync_run_manifest_rows
      where run_id = $1 and seq >= $2 and seq < $3`,
    [runId, from, upto],
  );
  return r.rows.map((x) => x.doc_id);
}

/** Rollback: the docs of [upto', upto) are deleted; the marker now ends at upto'. */
export async function lowerCreatedUpto(db: Db, runId: string, upto: number): Promise<void> {
  await db.query("update typesense_sync_run_created_ranges set upto_seq = $2 where run_id = $1", [
    runId,
    upto,
  ]);
}

/** Backups not restored yet with doc_id > after, in doc_id order (index range scan). */
export async function pendingBackups(
  db: Db,
  runId: string,
  after: string | null,
  limit: number,
): Promise<Backup[]> {
  const r = await db.query<{ doc_id: string; pre_image: string | null; manifest_seq: string }>(
    `select doc_id, pre_image::text as pre_image, manifest_seq from typesense_sync_run_backups
      where run_id = $1 and not restored and ($2::text is null or doc_id > $2)
      order by doc_id limit $3`,
    [runId, after, limit],
  );
  // pre_image is read as text and parsed with parseJson so int64 values beyond
  // 2^53 come back exact (jsonb keeps the digits; JSON.parse would round them).
  return r.rows.map((x) => ({
    docId: x.doc_id,
    preImage: x.pre_image === null ? null : (parseJson(x.pre_image) as Document),
    manifestSeq: Number(x.manifest_seq),
  }));
}

export async function markRestored(
  db: Db,
  runId: string,
  docIds: readonly string[],
): Promise<void> {
  if (docIds.length === 0) return;
  await db.query(
    `update typesense_sync_run_backups set restored = true
      where run_id = $1 and doc_id = any($2::text[])`,
    [runId, docIds],
  );
}
