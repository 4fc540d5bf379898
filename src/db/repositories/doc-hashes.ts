import type { Db } from "../transaction.js";

/*
 * Content hashes of written documents (sql/018; docs/full-sync.md "Content
 * hashes"). A row (job, collection, doc id, md5) claims: "Typesense holds, in
 * that collection, the document whose Postgres-rendered JSON text has this
 * md5". Full sync stores a hash only after Typesense confirmed that text; every
 * other write (CDC, rollback, dead-letter retry, orphan sweep, truncate) deletes
 * the claims it cannot keep true BEFORE or in the transaction of its
 * bookkeeping, so a re-sync may skip a row only when Typesense holds it.
 */

/** The stored md5 (hex) of each of `ids` that has one, for a re-sync's comparison. */
export async function loadHashes(
  db: Db,
  jobId: string,
  collection: string,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const r = await db.query<{ doc_id: string; h: string }>({
    name: "doc-hashes-load",
    text: `select doc_id, encode(hash, 'hex') as h from typesense_sync_doc_hashes
            where job_id = $1 and collection = $2
              and doc_id = any(array(select pg_catalog.json_array_elements_text($3::json)))`,
    values: [jobId, collection, JSON.stringify(ids)],
  });
  return new Map(r.rows.map((x) => [x.doc_id, x.h]));
}

/** Deletes the claims on `ids` of a job in every collection (a write we cannot vouch for). */
export async function invalidateHashes(
  db: Db,
  jobId: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  await db.query({
    name: "doc-hashes-invalidate",
    text: `delete from typesense_sync_doc_hashes
            where job_id = $1
              and doc_id = any(array(select pg_catalog.json_array_elements_text($2::json)))`,
    values: [jobId, JSON.stringify(ids)],
  });
}

/**
 * Deletes every claim of a job, or only those on one collection (a collection
 * found empty, a rollback, a truncate, a swap to a new version).
 */
export async function clearHashes(db: Db, jobId: string, collection?: string): Promise<void> {
  await db.query(
    `delete from typesense_sync_doc_hashes
      where job_id = $1 and ($2::text is null or collection = $2)`,
    [jobId, collection ?? null],
  );
}

/**
 * CDC: the claims on every doc a flush wrote, deleted or had rejected, per
 * job, in the checkpoint's transaction (cdc-checkpoint.ts). One statement.
 */
export async function invalidateWritten(
  db: Db,
  byJob: ReadonlyMap<string, readonly string[]>,
): Promise<void> {
  const jobs: string[] = [];
  const ids: string[] = [];
  for (const [jobId, list] of byJob) {
    for (const id of list) {
      jobs.push(jobId);
      ids.push(id);
    }
  }
  if (ids.length === 0) return;
  await db.query({
    name: "doc-hashes-invalidate-cdc",
    text: `delete from typesense_sync_doc_hashes h
             using (select j::uuid as job_id, d as doc_id
                      from pg_catalog.json_array_elements_text($1::json) with ordinality as a(j, n)
                      join pg_catalog.json_array_elements_text($2::json) with ordinality as b(d, m)
                        on n = m) w
            where h.job_id = w.job_id and h.doc_id = w.doc_id`,
    values: [JSON.stringify(jobs), JSON.stringify(ids)],
  });
}

/**
 * A rebuild's swap (rebuilds.ts recordSwap, in its transaction): the claims
 * the build stored on version `version` (`<alias>__v<N>`) become the alias's,
 * which later runs write through; every other claim of the job (the previous
 * version's, under the alias or its own name) goes, so a version never
 * inherits another's claims.
 */
export async function moveHashesToVersion(db: Db, jobId: string, version: number): Promise<void> {
  const physical = `(select collection_name || '__v' || $2::int from typesense_sync_jobs where id = $1)`;
  await db.query(
    `delete from typesense_sync_doc_hashes where job_id = $1 and collection <> ${physical}`,
    [jobId, version],
  );
  await db.query(
    `update typesense_sync_doc_hashes
        set collection = (select collection_name from typesense_sync_jobs where id = $1)
      where job_id = $1 and collection = ${physical}`,
    [jobId, version],
  );
}
