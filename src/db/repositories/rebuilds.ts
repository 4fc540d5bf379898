import type pg from "pg";
import { type Db, inClientTransaction } from "../transaction.js";
import { moveHashesToVersion } from "./doc-hashes.js";
import type { RebuildCause } from "./runs.js";

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
          set live_version = $3, building_version = null, updated_at = now(),
              -- the swapped-in version was built from the stored spec (a spec
              -- change during a started rebuild is refused: retarget.ts)
              rebuild_required = null
        where id = $1 and lease_token = $2
        returning rebuild_keep_previous_seconds as keep`,
      [f.jobId, f.leaseToken, f.version],
    );
    const keep = job.rows[0]?.keep;
    if (keep === undefined) return false;
    // the new version's content hashes become the alias's (doc-hashes.ts)
    await moveHashesToVersion(c, f.jobId, f.version);
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
    `update typesense_sync_jobs
        set live_version = null, building_version = null, rebuild_required = null, updated_at = now()
      where id = $1`,
    [jobId],
  );
}

/** What keeps a job's `__v<N>` collections (the orphan sweeper, fullsync/rebuild-drop.ts). */
export interface VersionHolds {
  jobId: string;
  /** The job's collection_name: its alias. */
  alias: string;
  liveVersion: number | null;
  buildingVersion: number | null;
  keepSeconds: number;
  /** Versions an open rebuild run builds (rebuild_to_version), whatever its step. */
  openVersions: number[];
  /** Previous versions whose keep period has not ended (runs in keep or drop). */
  keptVersions: number[];
}

/**
 * The holds of the given jobs; a job id absent from the answer has no row
 * (deleted). One statement, so live/building/kept are read at one snapshot.
 */
export async function selectVersionHolds(
  db: Db,
  jobIds: readonly string[],
): Promise<VersionHolds[]> {
  if (jobIds.length === 0) return [];
  const r = await db.query<Record<string, unknown>>(
    `select j.id, j.collection_name, j.live_version, j.building_version,
            j.rebuild_keep_previous_seconds as keep,
            coalesce(array(select r.rebuild_to_version from typesense_sync_runs r
                            where r.job_id = j.id and r.trigger = 'rebuild'
                              and r.rebuild_stage in ('create', 'build', 'verify', 'swap', 'discard')
                              and r.rebuild_to_version is not null), '{}') as open,
            coalesce(array(select r.rebuild_from_version from typesense_sync_runs r
                            where r.job_id = j.id and r.trigger = 'rebuild'
                              and r.rebuild_stage in ('keep', 'drop')
                              and r.rebuild_from_version is not null
                              and r.rebuild_keep_until > now()), '{}') as kept
       from typesense_sync_jobs j where j.id::text = any($1::text[])`,
    [jobIds],
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return r.rows.map((x) => ({
    jobId: String(x.id),
    alias: String(x.collection_name),
    liveVersion: num(x.live_version),
    buildingVersion: num(x.building_version),
    keepSeconds: Number(x.keep),
    openVersions: (x.open as unknown[]).map(Number),
    keptVersions: (x.kept as unknown[]).map(Number),
  }));
}

/**
 * Gives the job's queued, never started rebuild run a new cause (a spec
 * change arriving while a rebuild waits: that rebuild builds from the job as
 * it is when it starts, so it already builds the new spec). Its id, or null
 * when the job has no such run.
 */
export async function recauseQueuedRebuild(
  db: Db,
  jobId: string,
  cause: RebuildCause,
): Promise<string | null> {
  const r = await db.query<{ id: string }>(
    `update typesense_sync_runs
        set rebuild_reason = $2, rebuild_reason_detail = $3, updated_at = now()
      where job_id = $1 and trigger = 'rebuild' and status = 'queued'
      returning id`,
    [jobId, cause.reason, cause.detail ?? null],
  );
  return r.rows[0]?.id ?? null;
}

/**
 * Records that the live version holds the job's previous design (sql/017
 * rebuild_required = `detail`), in the spec change's transaction: plain
 * full syncs refuse to write the new one into it until a rebuild swaps.
 */
export async function markRebuildRequired(db: Db, jobId: string, detail: string): Promise<void> {
  await db.query(
    "update typesense_sync_jobs set rebuild_required = $2, updated_at = now() where id = $1",
    [jobId, detail],
  );
}

/**
 * Closes the job's queued, never started (status `queued`) non-rebuild run
 * `cancelled` with `reason`: it wrote nothing, and a rebuild replaces it. A
 * started (interrupted) run is left alone: the caller refuses instead.
 */
export async function cancelUnstartedRun(db: Db, jobId: string, reason: string): Promise<void> {
  await db.query(
    `update typesense_sync_runs
        set status = 'cancelled', stage = 'finished', error_message = $2,
            finished_at = now(), updated_at = now()
      where job_id = $1 and status = 'queued' and trigger <> 'rebuild'`,
    [jobId, reason],
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
