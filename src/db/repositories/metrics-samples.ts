import type pg from "pg";

/*
 * The metrics sampler's reads of the control tables (metrics/control-sampler.ts):
 * streams, runs changed since the last sample, dead letters by the time they failed.
 */

/** A stream's row as sampled. */
export interface StreamRow {
  source_client_name: string;
  status: string;
  lag_ms: string | null;
  retained_wal_bytes: string | null;
}

/** A run's counters as sampled (bigints as text). */
export interface RunRow {
  id: string;
  job_id: string;
  status: string;
  rollback_status: string;
  retry_attempt_count: number;
  manifest_processed_rows: string;
  imported_count: string;
  unchanged_count: string;
  failed_count: string;
  deleted_count: string;
  /** Created after this sampler started: its whole history counts. */
  fresh: boolean;
}

/** Every stream's state, lag and retained WAL. */
export async function readStreamSamples(control: pg.Pool): Promise<StreamRow[]> {
  const r = await control.query<StreamRow>(
    `select source_client_name, status, lag_ms::text, retained_wal_bytes::text
       from typesense_cdc_streams`,
  );
  return r.rows;
}

/** Open runs, runs changed since `changedSince`, and the runs named by id. */
export async function readRunSamples(
  control: pg.Pool,
  o: { changedSince: Date; startedAt: Date; openIds: string[] },
): Promise<RunRow[]> {
  const r = await control.query<RunRow>(
    `select id, job_id, status, rollback_status, retry_attempt_count,
            manifest_processed_rows::text, imported_count::text, unchanged_count::text,
            failed_count::text, deleted_count::text, created_at >= $2 as fresh
       from typesense_sync_runs
      where status in ('queued', 'running') or updated_at >= $1 or id = any($3::uuid[])`,
    [o.changedSince, o.startedAt, o.openIds],
  );
  return r.rows;
}

/**
 * Every rejection ever recorded per job and origin: the sum of the dead
 * letters' attempts (rows are never deleted; discard and resolve change only
 * their status, a new failure of an open letter adds an attempt, a failure
 * after it was resolved opens a new row). A cumulative total, so a sampler
 * counts by its growth: a letter committed after a sample is seen by the next
 * one, whatever its timestamps say (a window on last_failed_at missed every
 * letter whose transaction began before the window and committed after it).
 */
export async function deadLetterAttempts(
  control: pg.Pool,
): Promise<{ job_id: string; origin: string; attempts: string }[]> {
  const r = await control.query<{ job_id: string; origin: string; attempts: string }>(
    `select job_id, origin, sum(attempts)::text as attempts from typesense_dead_letters
      group by job_id, origin`,
  );
  return r.rows;
}
