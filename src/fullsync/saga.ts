import type pg from "pg";
import { parseJson, serializeDocument } from "../catalog/index.js";
import type { Document } from "../typesense/types.js";

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
 */
export interface Backup {
  docId: string;
  preImage: Document | null;
  manifestSeq: number;
}

export async function saveBackups(
  db: pg.Pool | pg.PoolClient,
  runId: string,
  backups: readonly Backup[],
): Promise<void> {
  if (backups.length === 0) return;
  await db.query(
    `insert into typesense_sync_run_backups (run_id, doc_id, pre_image, manifest_seq)
     select $1, b.doc_id, b.pre_image::jsonb, b.seq
       from unnest($2::text[], $3::text[], $4::bigint[]) as b(doc_id, pre_image, seq)
     on conflict (run_id, doc_id) do nothing`,
    [
      runId,
      backups.map((b) => b.docId),
      backups.map((b) => (b.preImage ? serializeDocument(b.preImage) : null)),
      backups.map((b) => b.manifestSeq),
    ],
  );
}

/** Whether the run has any backup (i.e. may have written something). */
export async function hasBackups(db: pg.Pool, runId: string): Promise<boolean> {
  const r = await db.query("select 1 from typesense_sync_run_backups where run_id = $1 limit 1", [
    runId,
  ]);
  return (r.rowCount ?? 0) > 0;
}

/** Backups not restored yet with doc_id > after, in doc_id order (index range scan). */
export async function pendingBackups(
  db: pg.Pool,
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
  db: pg.Pool | pg.PoolClient,
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
