import type pg from "pg";
import { type Db, inClientTransaction } from "../transaction.js";

/** A rebuild run's own columns (sql/013; fullsync/rebuild-stage.ts). */
export interface RebuildRow {
  stage: string;
  /** The version that served when the rebuild was queued; null: a plain wave-1 collection. */
  fromVersion: number | null;
  toVersion: number;
}

export async function loadRebuild(db: Db, runId: string): Promise<RebuildRow | null> {
  const r = await db.query<{ s: string | null; f: number | null; t: number | null }>(
    `select rebuild_stage as s, rebuild_from_version as f, rebuild_to_version as t
       from typesense_sync_runs where id = $1 and trigger = 'rebuild'`,
    [runId],
  );
  const row = r.rows[0];
  if (!row?.s || row.t === null) return null;
  return { stage: row.s, fromVersion: row.f, toVersion: row.t };
}

/**
 * The create step's first write, committed BEFORE the collection is created:
 * a crash after the create finds the version it must reuse or discard. Under
 * the lease (lease_token guard): a lost lease writes nothing (false).
 */
export async function markBuilding(
  db: Db,
  f: { jobId: string; leaseToken: string; runId: string; version: number },
): Promise<boolean> {
  const r = await db.query(
    `with j as (
       update typesense_sync_jobs set building_version = $3, updated_at = now()
        where id = $1 and lease_token = $2 returning id)
     update typesense_sync_runs set rebuild_stage = 'build', updated_at = now()
      where id = $4 and exists (select 1 from j)`,
    [f.jobId, f.leaseToken, f.version, f.runId],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * The swap's transaction, written right AFTER the alias upsert named the new
 * version: the job's live version, no building version, and the keep period
 * of the previous one. A crash between the upsert and this commit resumes in
 * swap, whose resume reads the alias (rebuild-stage.ts resumeRebuildStage).
 */
export async function recordSwap(
  client: pg.PoolClient,
  f: {
    jobId: string;
    leaseToken: string;
    runId: string;
    version: number;
    /** The wave-1 migration window (plain collection deleted -> alias upserted); null: none. */
    migrationWindowMs?: number | null;
  },
): Promise<boolean> {
  return inClientTransaction(client, async (c) => {
    const job = await c.query<{ keep: number }>(
      `update typesense_sync_jobs
          set live_version = $3, building_version = null, updated_at = now()
        where id = $1 and lease_token = $2
        returning rebuild_keep_previous_seconds as keep`,
      [f.jobId, f.leaseToken, f.version],
    );
    const keep = job.rows[0]?.keep;
    if (keep === undefined) return false;
    await c.query(
      `update typesense_sync_runs
          set rebuild_stage = 'keep', rebuild_swapped_at = now(),
              rebuild_keep_until = now() + make_interval(secs => $2), updated_at = now(),
              -- kept from the first swap attempt: a resumed swap finds no window
              rebuild_migration_window_ms = coalesce(rebuild_migration_window_ms, $3)
        where id = $1`,
      [f.runId, keep, f.migrationWindowMs ?? null],
    );
    return true;
  });
}

/** A previous version whose keep period ended (a rebuild run in keep or drop). */
export interface ExpiredKeep {
  runId: string;
  jobId: string;
  profileId: string;
  /** The job's collection_name: the alias. */
  alias: string;
  stage: string;
  /** The version kept; null: a wave-1 plain collection (gone with the swap). */
  fromVersion: number | null;
  liveVersion: number | null;
  buildingVersion: number | null;
}

/** Rebuild runs whose kept version is due to be dropped, oldest first. */
export async function selectExpiredKeeps(db: Db, limit: number): Promise<ExpiredKeep[]> {
  const r = await db.query<Record<string, unknown>>(
    `select r.id, r.job_id, j.profile_id, j.collection_name, r.rebuild_stage,
            r.rebuild_from_version, j.live_version, j.building_version
       from typesense_sync_runs r join typesense_sync_jobs j on j.id = r.job_id
      where r.trigger = 'rebuild' and r.rebuild_stage in ('keep', 'drop')
        and r.rebuild_keep_until <= now()
      order by r.rebuild_keep_until
      limit $1`,
    [limit],
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return r.rows.map((x) => ({
    runId: String(x.id),
    jobId: String(x.job_id),
    profileId: String(x.profile_id),
    alias: String(x.collection_name),
    stage: String(x.rebuild_stage),
    fromVersion: num(x.rebuild_from_version),
    liveVersion: num(x.live_version),
    buildingVersion: num(x.building_version),
  }));
}

/**
 * A job moved to another collection or backend (a retarget): its new target
 * starts as a plain collection again, so no version is live or building
 * there. The old alias and its versions are left as they were (like the old
 * collection of a wave-1 job). In the retarget's transaction, under the job
 * row's lock.
 */
export async function forgetVersions(db: Db, jobId: string): Promise<void> {
  await db.query(
    `update typesense_sync_jobs set live_version = null, building_version = null, updated_at = now()
      where id = $1`,
    [jobId],
  );
}

/**
 * A job on an alias whose name already holds the job's OWN plain collection
 * (CDC created it before the first run could, or it is left from before):
 * the job keeps writing it plain (live_version = null) until its first
 * rebuild migrates it. Under the run's lease; false when the lease is gone.
 */
export async function keepPlainCollection(
  db: Db,
  f: { jobId: string; leaseToken: string },
): Promise<boolean> {
  const r = await db.query(
    `update typesense_sync_jobs set live_version = null, updated_at = now()
      where id = $1 and lease_token = $2 and building_version is null`,
    [f.jobId, f.leaseToken],
  );
  return (r.rowCount ?? 0) > 0;
}
