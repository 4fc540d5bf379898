import type pg from "pg";
import type { Pools } from "../db/pool.js";
import {
  JOB_FIELDS,
  type Job,
  type JobInput,
  RETARGET_FIELDS,
  SOURCE_FIELDS,
} from "../db/repositories/job-schema.js";
import { type Db, inTransaction } from "../db/transaction.js";
import { assertClientAllowed, type ClientScope, clientInScope } from "./client-scope.js";
import { ConflictError, InvalidInputError, isUuid, NotFoundError, pgCode } from "./errors.js";
import { validateJobSource } from "./job-validation.js";
import { withNumbers } from "./rows.js";

/** A stored job (the type derived from the job schema); the name callers know. */
export type JobRecord = Job;
export type { JobInput };
export { RETARGET_FIELDS };

/** The retarget fields whose value the patch changes (arrays compared element-wise, in order). */
export function retargetedFields(
  row: Record<string, unknown>,
  patch: Record<string, unknown>,
): string[] {
  return RETARGET_FIELDS.filter(
    (f) => patch[f] !== undefined && JSON.stringify(patch[f]) !== JSON.stringify(row[f]),
  );
}

/** 409 while a run holds the job's lease: that run reads and writes the old target. */
export async function assertNoLiveRun(db: pg.PoolClient, jobId: string): Promise<void> {
  const r = await db.query<{ leased: boolean }>(
    `select coalesce(lease_expires_at > now(), false) as leased
       from typesense_sync_jobs where id = $1`,
    [jobId],
  );
  if (r.rows[0]?.leased) {
    throw new ConflictError(
      `sync job ${jobId} is running; change its target (profile, collection, source table or fields) after the run`,
    );
  }
}

const NUMS = ["last_source_row_count", "last_imported_count", "last_failed_count"];

function toRecord(row: Record<string, unknown>): JobRecord {
  const { lease_token: _hidden, ...rest } = withNumbers(row, NUMS);
  return rest as JobRecord;
}

export async function listJobs(
  pool: pg.Pool,
  f: { scope: ClientScope; client?: string | undefined; enabled?: boolean | undefined },
): Promise<JobRecord[]> {
  const r = await pool.query(
    `select * from typesense_sync_jobs
      where ($1::text is null or source_client_name = $1) and ($2::boolean is null or enabled = $2)
        and ${clientInScope("source_client_name", 3)}
      order by source_client_name, source_schema_name, source_table_name, collection_name`,
    [f.client ?? null, f.enabled ?? null, f.scope],
  );
  return r.rows.map(toRecord);
}

export async function getJob(db: Db, id: string, scope: ClientScope): Promise<JobRecord> {
  if (!isUuid(id)) throw new NotFoundError(`sync job ${id} not found`);
  const r = await db.query(
    `select * from typesense_sync_jobs where id = $1 and ${clientInScope("source_client_name", 2)}`,
    [id, scope],
  );
  if (!r.rows[0]) throw new NotFoundError(`sync job ${id} not found`);
  return toRecord(r.rows[0]);
}

async function assertProfile(db: Db, id: string): Promise<void> {
  const ok =
    isUuid(id) && (await db.query("select 1 from typesense_profiles where id = $1", [id])).rowCount;
  if (!ok) throw new InvalidInputError(`profile_id ${id}: no such backend`, "profile_id");
}

function writeError(e: unknown, collection: unknown): never {
  if (pgCode(e) === "23505") {
    throw new ConflictError(
      `collection "${String(collection)}" is already bound to another job on this backend`,
    );
  }
  throw e;
}

/**
 * Creates a job. `defaults.windowSize` (the config's `fullsync.window_size`) is
 * stored as the job's window_size when the input has none: a later change of
 * the config does not change existing jobs (PATCH their window_size).
 */
export async function createJob(
  pools: Pools,
  input: JobInput,
  scope: ClientScope,
  defaults: { windowSize?: number } = {},
): Promise<JobRecord> {
  assertClientAllowed(scope, input.source_client_name);
  await assertProfile(pools.control, input.profile_id);
  await validateJobSource(pools, input);
  const row: JobInput = { ...input, window_size: input.window_size ?? defaults.windowSize };
  const cols = JOB_FIELDS.filter((c) => row[c] !== undefined);
  try {
    const r = await pools.control.query(
      `insert into typesense_sync_jobs (${cols.join(", ")})
       values (${cols.map((_, i) => `$${i + 1}`).join(", ")}) returning *`,
      cols.map((c) => row[c]),
    );
    return toRecord(r.rows[0]);
  } catch (e) {
    writeError(e, input.collection_name);
  }
}

/** What updateJob wrote, and what `onRetarget` returned (null: no retarget). */
export interface JobUpdate<R> {
  job: JobRecord;
  resync: R | null;
}

/**
 * Called in updateJob's transaction after a retarget was written (the job row
 * locked, no run holding its lease): starts the resync of the new shape
 * (coordination/retarget.ts, passed in by the route).
 */
export type OnRetarget<R> = (db: pg.PoolClient, job: JobRecord, changed: string[]) => Promise<R>;

/**
 * Applies a partial update. When a source field changes, the merged job is
 * validated against the source table again before anything is written; the
 * row is locked meanwhile so two edits cannot interleave. A scoped caller
 * reaches only its client's jobs and cannot move one to another client.
 *
 * A retarget (RETARGET_FIELDS: profile, collection, source table, id column,
 * included columns or queryable fields changed) is refused while a run holds
 * the lease and otherwise starts a full resync of the new shape in the same
 * transaction: the update and the resync request commit together or not at
 * all (`onRetarget`; without it a retarget is written like any edit).
 */
export async function updateJob<R>(
  pools: Pools,
  id: string,
  patch: Partial<JobInput>,
  scope: ClientScope,
  onRetarget?: OnRetarget<R>,
): Promise<JobUpdate<R>> {
  if (!isUuid(id)) throw new NotFoundError(`sync job ${id} not found`);
  return inTransaction(pools.control, async (db) => {
    const cur = await db.query(
      `select * from typesense_sync_jobs where id = $1 and ${clientInScope("source_client_name", 2)}
         for update`,
      [id, scope],
    );
    const row = cur.rows[0] as Record<string, unknown> | undefined;
    if (!row) throw new NotFoundError(`sync job ${id} not found`);
    const cols = JOB_FIELDS.filter((c) => patch[c] !== undefined);
    if (cols.length === 0) return { job: toRecord(row), resync: null };
    assertClientAllowed(scope, patch.source_client_name);
    if (patch.profile_id !== undefined) await assertProfile(db, patch.profile_id);
    if (SOURCE_FIELDS.some((c) => patch[c] !== undefined)) {
      const merged = { ...row, ...patch } as unknown as JobInput;
      await validateJobSource(pools, merged);
    }
    const changed = retargetedFields(row, patch);
    if (changed.length > 0) await assertNoLiveRun(db, id);
    let updated: JobRecord;
    try {
      const r = await db.query(
        `update typesense_sync_jobs set ${cols.map((c, i) => `${c} = $${i + 2}`).join(", ")},
           updated_at = now() where id = $1 returning *`,
        [id, ...cols.map((c) => patch[c])],
      );
      updated = toRecord(r.rows[0]);
    } catch (e) {
      writeError(e, patch.collection_name);
    }
    if (changed.length === 0 || !onRetarget) return { job: updated, resync: null };
    const resync = await onRetarget(db, updated, changed);
    const after = await db.query("select * from typesense_sync_jobs where id = $1", [id]);
    return { job: toRecord(after.rows[0]), resync };
  });
}

/** Deletes a job with its runs and dead letters; refused while a run holds the lease. */
export async function deleteJob(pool: pg.Pool, id: string, scope: ClientScope): Promise<void> {
  if (!isUuid(id)) throw new NotFoundError(`sync job ${id} not found`);
  const r = await pool.query<{ leased: boolean }>(
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
  const row = r.rows[0];
  if (!row) throw new NotFoundError(`sync job ${id} not found`);
  if (row.leased) throw new ConflictError(`sync job ${id} is running; delete it after the run`);
}
