import type { Db } from "../transaction.js";
import { JOB_FIELDS, type JobFields } from "./job-schema.js";
import { withNumbers } from "./rows.js";
import { type ClientScope, clientInScope } from "./scope-sql.js";

/**
 * The columns of typesense_sync_jobs that the sidecar maintains (sql/001, 004,
 * 008), as pg returns them: timestamptz -> Date, pg_lsn -> text, bigint ->
 * number (withNumbers). `lease_token` is left out: it fences a run's writes
 * and is never returned (a caller holding it could close another's run).
 */
export interface JobMaintained {
  id: string;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  last_synced_at: Date | null;
  next_sync_at: Date | null;
  last_sync_status: "running" | "succeeded" | "failed" | null;
  last_sync_error: string | null;
  last_source_row_count: number | null;
  last_imported_count: number | null;
  last_failed_count: number | null;
  cdc_applied_lsn: string | null;
  cdc_applied_at: Date | null;
  cdc_resync_requested_at: Date | null;
  cdc_parked_at: Date | null;
  cdc_parked_error: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * A stored job: the editable fields typed from the zod schema (job-schema.ts,
 * the one field list) plus the columns the sidecar maintains. The API returns
 * it as it is (JSON: the Dates as ISO strings).
 */
export type Job = JobFields & JobMaintained;

const NUMS = ["last_source_row_count", "last_imported_count", "last_failed_count"];

/** A `select *` row as a Job: int8 counters as numbers, the lease token dropped. */
export function toJob(row: Record<string, unknown>): Job {
  const { lease_token: _hidden, ...rest } = withNumbers(row, NUMS);
  return rest as unknown as Job;
}

/** Whether a live run holds the job's lease (false for an unknown job). */
export async function jobLeaseLive(db: Db, jobId: string): Promise<boolean> {
  const r = await db.query<{ leased: boolean }>(
    `select coalesce(lease_expires_at > now(), false) as leased
       from typesense_sync_jobs where id = $1`,
    [jobId],
  );
  return r.rows[0]?.leased === true;
}

/** Jobs in the scope, optionally of one client and/or enabled state, in source order. */
export async function selectJobs(
  db: Db,
  f: { scope: ClientScope; client: string | null; enabled: boolean | null },
): Promise<Job[]> {
  const r = await db.query(
    `select * from typesense_sync_jobs
      where ($1::text is null or source_client_name = $1) and ($2::boolean is null or enabled = $2)
        and ${clientInScope("source_client_name", 3)}
      order by source_client_name, source_schema_name, source_table_name, collection_name`,
    [f.client, f.enabled, f.scope],
  );
  return r.rows.map(toJob);
}

/**
 * One job in the scope, or null. `forUpdate`: the row is locked until the
 * caller's transaction ends (db must then be a client in a transaction).
 */
export async function selectJob(
  db: Db,
  id: string,
  scope: ClientScope,
  o: { forUpdate?: boolean } = {},
): Promise<Job | null> {
  const r = await db.query(
    `select * from typesense_sync_jobs where id = $1 and ${clientInScope("source_client_name", 2)}${
      o.forUpdate ? "\n         for update" : ""
    }`,
    [id, scope],
  );
  return r.rows[0] ? toJob(r.rows[0]) : null;
}

/** One job by id, unscoped (a caller that already checked the scope), or null. */
export async function selectJobById(db: Db, id: string): Promise<Job | null> {
  const r = await db.query("select * from typesense_sync_jobs where id = $1", [id]);
  return r.rows[0] ? toJob(r.rows[0]) : null;
}

/** Whether the backend (typesense_profiles row) a job refers to exists; id must be a uuid. */
export async function profileExists(db: Db, id: string): Promise<boolean> {
  const r = await db.query("select 1 from typesense_profiles where id = $1", [id]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * A field's value as a query parameter. `document` is jsonb: passed as JSON
 * text, so an array anywhere in it can never be sent as a Postgres array
 * literal (pg does that for a top-level array) and null stays SQL null.
 */
function param(row: Partial<JobFields>, c: keyof JobFields): unknown {
  const v = row[c];
  return c === "document" && v !== null ? JSON.stringify(v) : v;
}

/**
 * Inserts a job with the fields given (the others take the table's defaults),
 * in schema order. A second job on the same profile + collection fails with
 * the unique violation (23505) for the caller to map.
 */
export async function insertJob(db: Db, row: Partial<JobFields>): Promise<Job> {
  const cols = JOB_FIELDS.filter((c) => row[c] !== undefined);
  // New jobs start at v1 (docs/full-sync.md "Rebuilds"): collection_name is an
  // alias the first run points at `<collection_name>__v1`. A job that adopts an
  // existing collection keeps writing it as a plain collection (live_version
  // null) until its first rebuild migrates it.
  const liveVersion = row.adopt_existing_collection === true ? null : 1;
  const r = await db.query(
    `insert into typesense_sync_jobs (${cols.join(", ")}, live_version)
       values (${cols.map((_, i) => `$${i + 1}`).join(", ")}, $${cols.length + 1}) returning *`,
    [...cols.map((c) => param(row, c)), liveVersion],
  );
  return toJob(r.rows[0]);
}

/**
 * Writes the fields the patch names (at least one; null is written: a
 * `document: null` removes the spec) and updated_at; the updated job. Same
 * unique violation as insertJob.
 */
export async function updateJobFields(db: Db, id: string, patch: Partial<JobFields>): Promise<Job> {
  const cols = JOB_FIELDS.filter((c) => patch[c] !== undefined);
  const r = await db.query(
    `update typesense_sync_jobs set ${cols.map((c, i) => `${c} = $${i + 2}`).join(", ")},
       updated_at = now() where id = $1 returning *`,
    [id, ...cols.map((c) => param(patch, c))],
  );
  return toJob(r.rows[0]);
}

/**
 * Deletes the job (runs and dead letters cascade) unless a live run holds its
 * lease, in ONE statement so no run can claim it between the check and the
 * delete. null: no such job in the scope; `leased`: it was kept.
 */
export async function deleteJobUnlessLeased(
  db: Db,
  id: string,
  scope: ClientScope,
): Promise<{ leased: boolean } | null> {
  const r = await db.query<{ leased: boolean }>(
    `with target as (
       select id, coalesce(lease_expires_at > now(), false) as leased
         from typesense_sync_jobs where id = $1 and ${clientInScope("source_client_name", 2)}
     ), del as (
       delete from typesense_sync_jobs j using target t where j.id = t.id and not t.leased
       returning j.id
     )
     select t.leased from target t`,
    [id, scope],
  );
  return r.rows[0] ?? null;
}

/** The job row locked for a run request, with what the request decides on. */
export interface JobForRun {
  lease_live: boolean;
  lease_expires_at: Date | null;
  /** The pending CDC join resync marker (cdc_resync_requested_at), or null. */
  marker: Date | null;
  /** Non-null: the marker asks for a rebuild, for this reason (a lost slot, sql/014). */
  marker_reason: string | null;
  enabled: boolean;
}

/**
 * Locks the job row (FOR UPDATE, db a client in a transaction) and reads its
 * lease, join marker and enabled flag; null when the job is not in the scope.
 */
export async function lockJobForRun(
  db: Db,
  jobId: string,
  scope: ClientScope,
): Promise<JobForRun | null> {
  const job = await db.query<JobForRun>(
    `select coalesce(lease_expires_at > now(), false) as lease_live, lease_expires_at,
            cdc_resync_requested_at as marker, cdc_resync_reason as marker_reason, enabled
       from typesense_sync_jobs where id = $1 and ${clientInScope("source_client_name", 2)}
        for update`,
    [jobId, scope],
  );
  return job.rows[0] ?? null;
}

/** Clears the job's pending CDC join resync marker (its resync run is queued or accepted). */
export async function clearJoinMarker(db: Db, jobId: string): Promise<void> {
  await db.query(
    "update typesense_sync_jobs set cdc_resync_requested_at = null, cdc_resync_reason = null where id = $1",
    [jobId],
  );
}

/**
 * Takes the job out of its CDC stream's applied state (cdc_applied_lsn and
 * cdc_applied_at null, a pending join marker cleared): the stream's job poll
 * sets it up again and joins it as a new job (coordination/retarget.ts).
 */
export async function resetCdcJoin(db: Db, jobId: string): Promise<void> {
  await db.query(
    `update typesense_sync_jobs
        set cdc_applied_lsn = null, cdc_applied_at = null, cdc_resync_requested_at = null,
            cdc_resync_reason = null
      where id = $1`,
    [jobId],
  );
}
