import type { Db } from "../transaction.js";
import type { DocumentSpecInput } from "./document-spec.js";
import type { JobFields, JobTargetField } from "./job-schema.js";
import { type ClientScope, jobInScope } from "./scope-sql.js";

/**
 * Typed access to typesense_dead_letters for the API and the retry
 * (control/dead-letters.ts, coordination/dead-letter-retry.ts). Rows come back
 * in the API's snake_case shape. Id validation, 404/409 choice and scoping
 * decisions stay with the callers; a scoped statement here leaves out rows
 * outside the scope (`jobInScope`), so "not in scope" and "no such row" look
 * the same (null or an empty list).
 */

export type DeadLetterRecord = {
  id: string;
  job_id: string;
  run_id: string | null;
  origin: "full_sync" | "cdc";
  doc_id: string | null;
  operation: "upsert" | "emplace" | "update" | "delete";
  payload: unknown;
  error_code: number | null;
  error_message: string;
  attempts: number;
  status: "open" | "resolved" | "discarded";
  first_failed_at: Date;
  last_failed_at: Date;
  resolved_at: Date | null;
};

/** A list query; `jobId` is a uuid or null (no job filter). */
export interface DeadLetterQuery {
  scope: ClientScope;
  jobId: string | null;
  status: DeadLetterRecord["status"] | null;
  limit: number;
  offset: number;
}

/** Newest failure first (id breaks ties, so pages are stable). */
export async function selectDeadLetters(db: Db, q: DeadLetterQuery): Promise<DeadLetterRecord[]> {
  const r = await db.query<DeadLetterRecord>(
    `select * from typesense_dead_letters
      where ($1::uuid is null or job_id = $1) and ($2::text is null or status = $2)
        and ${jobInScope("job_id", 5)}
      order by last_failed_at desc, id limit $3 offset $4`,
    [q.jobId, q.status, q.limit, q.offset, q.scope],
  );
  return r.rows;
}

/**
 * One letter by (uuid) id inside the scope, or null. `lock`: `for update`,
 * held until the caller's transaction ends (db must then be its client).
 */
export async function selectDeadLetter(
  db: Db,
  id: string,
  scope: ClientScope,
  lock = false,
): Promise<DeadLetterRecord | null> {
  const r = await db.query<DeadLetterRecord>(
    `select * from typesense_dead_letters
      where id = $1 and ${jobInScope("job_id", 2)}${lock ? " for update" : ""}`,
    [id, scope],
  );
  return r.rows[0] ?? null;
}

/**
 * Discards the letter if it is open and in scope, in one statement (the
 * `status = 'open'` condition makes a concurrent retry or discard lose
 * cleanly); null when no row matched, for the caller to tell why.
 */
export async function discardOpenDeadLetter(
  db: Db,
  id: string,
  scope: ClientScope,
): Promise<DeadLetterRecord | null> {
  const r = await db.query<DeadLetterRecord>(
    `update typesense_dead_letters set status = 'discarded', resolved_at = now()
      where id = $1 and status = 'open' and ${jobInScope("job_id", 2)} returning *`,
    [id, scope],
  );
  return r.rows[0] ?? null;
}

/** Typesense accepted the re-sent payload. The caller holds the letter (locked, known to exist). */
export async function resolveDeadLetter(db: Db, id: string): Promise<DeadLetterRecord> {
  const r = await db.query<DeadLetterRecord>(
    `update typesense_dead_letters set status = 'resolved', resolved_at = now()
      where id = $1 returning *`,
    [id],
  );
  return r.rows[0]!;
}

/** Typesense rejected it again: one more attempt on the same open letter (held by the caller). */
export async function recordDeadLetterFailure(
  db: Db,
  id: string,
  error: { code: number | null; message: string },
): Promise<DeadLetterRecord> {
  const r = await db.query<DeadLetterRecord>(
    `update typesense_dead_letters
        set attempts = attempts + 1, last_failed_at = now(), error_code = $2, error_message = $3
      where id = $1 returning *`,
    [id, error.code, error.message],
  );
  return r.rows[0]!;
}

/** A letter's job (its stored source and target fields) and the job's backend. */
export type LetterJob = Pick<JobFields, JobTargetField> & {
  job_id: string;
  /** enabled and cdc_enabled: a CDC stream writes the job's documents. */
  streamed: boolean;
  base_url: string;
  additional_node_urls: string[];
  /** Sealed (control/secret-box.ts); the caller opens it and never returns it. */
  api_key_stored: string;
  timeout_ms: number;
  /** The job's document spec (sql/010), null: none (the retry reads through the job's mapper). */
  document: DocumentSpecInput | null;
};

/**
 * The job and backend of a letter the caller holds (locked in its
 * transaction, so it exists; the job and profile foreign keys make the joins
 * hit).
 */
export async function selectLetterJob(db: Db, letterId: string): Promise<LetterJob> {
  const r = await db.query<LetterJob>(
    `select j.id as job_id, j.source_client_name, j.source_schema_name, j.source_table_name,
            j.collection_name, j.document_id_column, j.included_columns, j.queryable_fields,
            (j.enabled and j.cdc_enabled) as streamed,
            p.id as profile_id, p.base_url, p.additional_node_urls, p.api_key_stored,
            p.timeout_ms, j.document
       from typesense_dead_letters d
       join typesense_sync_jobs j on j.id = d.job_id
       join typesense_profiles p on p.id = j.profile_id
      where d.id = $1`,
    [letterId],
  );
  const row = r.rows[0]!;
  return { ...row, document: row.document ?? null };
}
