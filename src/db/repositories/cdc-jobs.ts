import { createHash } from "node:crypto";
import type pg from "pg";
import { formatLsn, type Lsn } from "../lsn.js";
import type { Db } from "../transaction.js";
import { inTransaction } from "../transaction.js";
import type { DocumentSpec } from "./document-spec.js";
import type { JobTargetField } from "./job-schema.js";
import type { Job } from "./jobs.js";

/** A sync job as the CDC stream sees it (typesense_sync_jobs). */
export interface CdcJob {
  id: string;
  profileId: string;
  sourceClientName: string;
  schema: string;
  table: string;
  collectionName: string;
  documentIdColumn: string;
  includedColumns: string[];
  queryableFields: string[];
  /**
   * The job's document spec (sql/010; null: rendered from the row as before specs). Part of the job as the
   * stream sees it, so a spec change (an additive PATCH resets the job's CDC
   * join, coordination/retarget.ts) changes the stream's job signature and
   * the stream sets up again and re-joins the job with its watermarked resync.
   */
  document: DocumentSpec | null;
  /** null: the job has not been part of a stream since it was (re)enabled. */
  cdcAppliedLsn: string | null;
  /** The version its alias names (sql/013); null: a wave-1 plain collection. */
  liveVersion: number | null;
  /**
   * The version a rebuild builds (sql/013): the stream writes every change to
   * it too (dual-write, docs/cdc.md). Part of the job signature, so a change
   * (create sets it, swap/discard clear it) sets the stream up again.
   */
  buildingVersion: number | null;
}

/** A job's versions as they are now (the stream re-reads them at a watermark). */
export interface JobVersions {
  collectionName: string;
  liveVersion: number | null;
  buildingVersion: number | null;
}

/** null: the job is gone. */
export async function loadJobVersions(
  control: pg.Pool,
  jobId: string,
): Promise<JobVersions | null> {
  const r = await control.query<{
    collection_name: string;
    live_version: number | null;
    building_version: number | null;
  }>(
    `select collection_name, live_version, building_version from typesense_sync_jobs where id = $1`,
    [jobId],
  );
  const j = r.rows[0];
  if (!j) return null;
  return {
    collectionName: j.collection_name,
    liveVersion: j.live_version,
    buildingVersion: j.building_version,
  };
}

/**
 * Jobs of a source client that CDC streams: enabled, cdc_enabled and not
 * parked (`parked: true`: the parked ones instead, for the probe). A parked
 * job is out of the stream until its probe succeeds; it then joins again
 * (and gets its watermarked resync, as any joining job).
 */
export async function loadCdcJobs(
  control: pg.Pool,
  clientName: string,
  o: { parked?: boolean } = {},
): Promise<CdcJob[]> {
  const r = await control.query<
    Pick<Job, "id" | JobTargetField | "document"> & {
      cdc_applied_lsn: string | null;
      live_version: number | null;
      building_version: number | null;
    }
  >(
    `select id, profile_id, source_client_name, source_schema_name, source_table_name,
            collection_name, document_id_column, included_columns, queryable_fields, document,
            cdc_applied_lsn::text as cdc_applied_lsn, live_version, building_version
       from typesense_sync_jobs
      where source_client_name = $1 and enabled and cdc_enabled
        and (cdc_parked_at is not null) = $2
      order by created_at, id`,
    [clientName, o.parked === true],
  );
  return r.rows.map((j) => ({
    id: j.id,
    profileId: j.profile_id,
    sourceClientName: j.source_client_name,
    schema: j.source_schema_name,
    table: j.source_table_name,
    collectionName: j.collection_name,
    documentIdColumn: j.document_id_column,
    includedColumns: j.included_columns,
    queryableFields: j.queryable_fields,
    document: j.document ?? null,
    cdcAppliedLsn: j.cdc_applied_lsn,
    liveVersion: j.live_version,
    buildingVersion: j.building_version,
  }));
}

/** Source clients that have at least one enabled, cdc_enabled job (parked ones count: they are probed). */
export async function cdcClientNames(control: pg.Pool): Promise<string[]> {
  const r = await control.query<{ c: string }>(
    `select distinct source_client_name as c from typesense_sync_jobs
      where enabled and cdc_enabled order by 1`,
  );
  return r.rows.map((x) => x.c);
}

/**
 * Slot and publication name of a client: `<prefix>_<client>` in the
 * characters slot names allow ([a-z0-9_], at most 63). A client name that
 * had to be changed to fit gets a short hash so "a-b" and "a_b" differ.
 */
export function streamObjectName(prefix: string, clientName: string): string {
  const clean = clientName.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  let name = `${prefix}_${clean}`;
  if (clean !== clientName || name.length > 63) {
    const h = createHash("sha256").update(clientName).digest("hex").slice(0, 8);
    name = `${name.slice(0, 63 - 9)}_${h}`;
  }
  return name;
}

/**
 * Parks a job, in ONE transaction, BEFORE the stream checkpoints anything past
 * its failed changes (applier.ts #parkOrThrow):
 *   - cdc_parked_at / cdc_parked_error: the job leaves the stream (loadCdcJobs)
 *     and its status names the error;
 *   - cdc_resync_requested_at = now(): the durable need of a full resync;
 *   - cdc_applied_lsn = null: when it is unparked, the stream's setup sees it
 *     joining, sets the marker again (after its table is back in the
 *     publication) and requests the watermarked join resync. Changes the slot
 *     moves past meanwhile are read again by that resync: nothing is lost, and
 *     the resync's windows are bracketed, so nothing older than the source is
 *     written.
 */
export async function parkJob(
  control: pg.Pool,
  clientName: string,
  jobId: string,
  error: string,
): Promise<void> {
  await inTransaction(control, async (client) => {
    await client.query(
      `update typesense_sync_jobs
          set cdc_parked_at = now(), cdc_parked_error = $2, cdc_resync_requested_at = now(),
              cdc_applied_lsn = null, cdc_applied_at = null, updated_at = now()
        where id = $1`,
      [jobId, error],
    );
    await client.query(
      `update typesense_cdc_streams set last_error = $2, last_error_at = now(), updated_at = now()
        where source_client_name = $1`,
      [clientName, `job ${jobId} parked: ${error}`],
    );
  });
}

/**
 * After a probe: success unparks the job (it joins the stream at its next
 * setup, with its resync); failure keeps it parked with the latest error.
 */
export async function recordProbe(
  control: pg.Pool,
  jobId: string,
  error: string | null,
): Promise<void> {
  await control.query(
    error === null
      ? `update typesense_sync_jobs set cdc_parked_at = null, cdc_parked_error = null,
                updated_at = now()
          where id = $1 and cdc_parked_at is not null`
      : `update typesense_sync_jobs set cdc_parked_error = $2
          where id = $1 and cdc_parked_at is not null`,
    error === null ? [jobId] : [jobId, error],
  );
}

/**
 * Marks which jobs belong to the stream: jobs that joined get
 * cdc_applied_lsn = the stream's start (so they are not resynced again at the
 * next start); jobs of this client that left (disabled, cdc off, rejected)
 * get null, so that rejoining later triggers a resync for the gap.
 */
export async function markStreamJobs(
  control: pg.Pool,
  clientName: string,
  joinedIds: readonly string[],
  memberIds: readonly string[],
  startLsn: Lsn,
): Promise<void> {
  await control.query(
    `update typesense_sync_jobs set cdc_applied_lsn = $2::pg_lsn, cdc_applied_at = now()
      where id = any($1::uuid[]) and cdc_applied_lsn is null`,
    [joinedIds, formatLsn(startLsn)],
  );
  await control.query(
    `update typesense_sync_jobs set cdc_applied_lsn = null, cdc_applied_at = null
      where source_client_name = $1 and not (id = any($2::uuid[])) and cdc_applied_lsn is not null`,
    [clientName, memberIds],
  );
}

/**
 * Step (1) of afterSetup's write order (cdc/stream-jobs.ts): the durable need
 * of a full resync, set before the resync is requested and the job marked joined.
 */
export async function markResyncRequested(
  control: pg.Pool,
  jobIds: readonly string[],
  /** A lost slot's reason: the marker asks for a rebuild (sql/014). null keeps a pending one's reason. */
  rebuildReason: string | null = null,
): Promise<void> {
  await control.query(
    `update typesense_sync_jobs
        set cdc_resync_requested_at = now(),
            cdc_resync_reason = case when $2::text is not null then $2::text
                                     when cdc_resync_requested_at is not null then cdc_resync_reason end
      where id = any($1::uuid[])`,
    [jobIds, rebuildReason],
  );
}

/** After a lost slot: the jobs are no stream members until markStreamJobs marks them again. */
export async function clearAppliedLsn(control: pg.Pool, jobIds: readonly string[]): Promise<void> {
  await control.query(
    "update typesense_sync_jobs set cdc_applied_lsn = null where id = any($1::uuid[])",
    [jobIds],
  );
}

/** Those of `jobIds` whose resync is still requested (cdc_resync_requested_at set), by id. */
export async function resyncRequestedIds(
  control: pg.Pool,
  jobIds: readonly string[],
): Promise<string[]> {
  const r = await control.query<{ id: string }>(
    `select id from typesense_sync_jobs
      where id = any($1::uuid[]) and cdc_resync_requested_at is not null order by id`,
    [jobIds],
  );
  return r.rows.map((row) => row.id);
}

/**
 * Pending join resyncs of the CDC jobs of `clientNames`, by id. A parked
 * job's marker waits: its backend refuses writes, so its resync runs once it
 * is unparked and has joined the stream again.
 */
export async function pendingJoinResyncs(
  control: pg.Pool,
  clientNames: readonly string[],
): Promise<string[]> {
  const r = await control.query<{ id: string }>(
    `select id from typesense_sync_jobs
      where cdc_resync_requested_at is not null and enabled and cdc_enabled
        and cdc_parked_at is null and source_client_name = any($1::text[])
      order by id`,
    [clientNames],
  );
  return r.rows.map((row) => row.id);
}

/**
 * A job's source client and whether any enabled CDC job streams that client
 * (`sync run` must then respect the stream's leadership). No row: unknown id.
 * Throws on a malformed id (the caller decides what that means).
 */
export async function jobCdcClient(
  db: Db,
  jobId: string,
): Promise<{ c: string; cdc: boolean } | undefined> {
  const r = await db.query<{ c: string; cdc: boolean }>(
    `select j.source_client_name as c,
            exists (select 1 from typesense_sync_jobs k
                     where k.source_client_name = j.source_client_name
                       and k.enabled and k.cdc_enabled) as cdc
       from typesense_sync_jobs j where j.id = $1`,
    [jobId],
  );
  return r.rows[0];
}

/** The instance recorded as leading a source client's CDC stream, if any. */
export async function streamLeader(db: Db, clientName: string): Promise<string | null> {
  const r = await db.query<{ l: string | null }>(
    "select leader_instance as l from typesense_cdc_streams where source_client_name = $1",
    [clientName],
  );
  return r.rows[0]?.l ?? null;
}
