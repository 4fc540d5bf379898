import type pg from "pg";
import { type Lease, LeaseLostError } from "./lease.js";
import type { RunCounters } from "./runs.js";

/** A document Typesense rejected for good (a 4xx import line). */
export interface Rejected {
  docId: string;
  code: number;
  error: string;
  /** The document as sent (JSON text). */
  payload: string;
}

export interface CheckpointInput {
  lease: Lease;
  leaseTtlMs: number;
  runId: string;
  nextSeq: number;
  processedRows: number;
  counters: RunCounters;
  message: string;
  /** Rejected lines of the window: dead letters (one open letter per doc, attempts grow). */
  rejected: readonly Rejected[];
  /** Docs that imported now: their open dead letters are resolved. */
  importedIds: readonly string[];
  /**
   * Content hashes (doc-hashes.ts) to store for the collection `collection`:
   * docs Typesense confirmed holding exactly the rendered text of md5
   * `md5[16i, 16i+16)` (ids[i]). Absent: none stored.
   */
  hashes?: { collection: string; ids: readonly string[]; md5: Buffer };
  /** Docs whose claims are deleted with the checkpoint (rejected lines). */
  unhashIds?: readonly string[];
}

const CHECKPOINT_SQL = `with lease as (
       update typesense_sync_jobs
          set lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
        where id = $1 and lease_token = $2
        returning lease_expires_at
     ), checkpoint as (
       update typesense_sync_runs
          set next_manifest_seq = $5, manifest_processed_rows = $6, imported_count = $7,
              unchanged_count = $8, failed_count = $9, deleted_count = $10,
              retry_attempt_count = $11, stage_message = $12, updated_at = now()
        where id = $4 and exists (select 1 from lease)
     ), dead as (
       insert into typesense_dead_letters
         (job_id, run_id, origin, doc_id, operation, payload, error_code, error_message)
       select $1, $4, 'full_sync', d.doc_id, 'upsert', d.payload::jsonb, d.code, d.error
         from unnest($13::text[], $14::text[], $15::int[], $16::text[]) as d(doc_id, payload, code, error)
        where exists (select 1 from lease)
       on conflict (job_id, doc_id) where status = 'open' and doc_id is not null
       do update set attempts = typesense_dead_letters.attempts + 1, last_failed_at = now(),
                     run_id = excluded.run_id, origin = excluded.origin,
                     operation = excluded.operation, payload = excluded.payload,
                     error_code = excluded.error_code, error_message = excluded.error_message
     ), resolved as (
       -- The second exists is a one-time gate: with no open letter for the job
       -- (the usual case) Postgres skips the probe of every imported id. The
       -- ids come as one JSON array text: JSON.stringify is native, where pg's
       -- text[] literal escapes every element in JS (~0.1 us per id).
       update typesense_dead_letters set status = 'resolved', resolved_at = now()
        where job_id = $1 and status = 'open'
          and doc_id = any(array(select pg_catalog.json_array_elements_text($17::json)))
          and exists (select 1 from lease)
          and exists (select 1 from typesense_dead_letters
                       where job_id = $1 and status = 'open' and doc_id is not null)
     ), hashed as (
       -- claims of what Typesense confirmed now (doc-hashes.ts); never the
       -- same ids as unhashed (a statement's CTEs see one snapshot)
       insert into typesense_sync_doc_hashes (job_id, collection, doc_id, hash)
       select $1, $18, d.id, substring($19::bytea from (d.n::int - 1) * 16 + 1 for 16)
         from pg_catalog.json_array_elements_text($20::json) with ordinality as d(id, n)
        where $18::text is not null and exists (select 1 from lease)
       on conflict (job_id, collection, doc_id) do update set hash = excluded.hash
     ), unhashed as (
       delete from typesense_sync_doc_hashes
        where job_id = $1 and $21::text <> '[]'
          and doc_id = any(array(select pg_catalog.json_array_elements_text($21::json)))
          and exists (select 1 from lease)
     )
     select lease_expires_at from lease`;

/**
 * The window checkpoint as ONE statement (one round trip, atomic like a
 * transaction): the lease fence + renewal, next_manifest_seq,
 * manifest_processed_rows, counters, dead letters and their resolution. Every
 * part is conditional on the fence, so a run that lost its lease changes
 * nothing and gets LeaseLostError.
 *
 * Called only after the window's Typesense writes were confirmed.
 */
export async function commitCheckpoint(db: pg.Pool, cp: CheckpointInput): Promise<void> {
  // One row per doc id: ON CONFLICT cannot touch the same row twice in one statement,
  // and a doc is either rejected or resolved, never both.
  const rejected = [...new Map(cp.rejected.map((r) => [r.docId, r])).values()];
  const rejectedIds = new Set(rejected.map((r) => r.docId));
  const resolved = cp.importedIds.filter((id) => !rejectedIds.has(id));
  const c = cp.counters;
  // A named statement: Postgres plans it once per connection instead of once
  // per window (measured: 0.6 -> 0.2 ms per checkpoint round trip).
  const r = await db.query<{ lease_expires_at: Date }>({
    name: "fullsync-checkpoint",
    text: CHECKPOINT_SQL,
    values: [
      cp.lease.jobId,
      cp.lease.token,
      cp.leaseTtlMs,
      cp.runId,
      cp.nextSeq,
      cp.processedRows,
      c.imported,
      c.unchanged,
      c.failed,
      c.deleted,
      c.retries,
      cp.message,
      rejected.map((x) => x.docId),
      rejected.map((x) => x.payload),
      rejected.map((x) => x.code),
      rejected.map((x) => x.error),
      JSON.stringify(resolved),
      cp.hashes?.collection ?? null,
      cp.hashes?.md5 ?? Buffer.alloc(0),
      JSON.stringify(cp.hashes?.ids ?? []),
      JSON.stringify(cp.unhashIds ?? []),
    ],
  });
  const row = r.rows[0];
  if (!row) throw new LeaseLostError(cp.lease.jobId);
  cp.lease.expiresAt = row.lease_expires_at;
}
