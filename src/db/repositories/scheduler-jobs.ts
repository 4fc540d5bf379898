import type pg from "pg";

/*
 * The scheduler's reads of the jobs table (scheduler/scheduler.ts). `c` is the
 * job's source client, `cdc` whether that client has a CDC job (its runs then
 * follow the CDC leader).
 */

/**
 * Enabled jobs whose lease is free and that are due (next_sync_at passed) or
 * have an open run, oldest due first; `exclude` (running or cooling down here)
 * left out.
 */
export async function selectDueJobs(
  control: pg.Pool,
  exclude: string[],
  limit: number,
): Promise<{ id: string; c: string; cdc: boolean }[]> {
  const r = await control.query<{ id: string; c: string; cdc: boolean }>(
    `select j.id, j.source_client_name as c,
            exists (select 1 from typesense_sync_jobs k
                     where k.source_client_name = j.source_client_name
                       and k.enabled and k.cdc_enabled) as cdc
       from typesense_sync_jobs j
      where j.enabled
        and (j.lease_expires_at is null or j.lease_expires_at <= now())
        and (j.next_sync_at is null or j.next_sync_at <= now()
             or exists (select 1 from typesense_sync_runs r
                         where r.job_id = j.id and r.status in ('queued', 'running')))
        and not (j.id = any($1::uuid[]))
      order by j.next_sync_at nulls first, j.id
      limit $2`,
    // jobs another instance must run are filtered below: look further than `limit`,
    [exclude, limit],
  );
  return r.rows;
}

/** Of the given jobs, the enabled ones with an open run; `free`: their lease is free. */
export async function selectRequestedJobs(
  control: pg.Pool,
  ids: string[],
): Promise<{ id: string; c: string; cdc: boolean; free: boolean }[]> {
  const r = await control.query<{ id: string; c: string; cdc: boolean; free: boolean }>(
    `select j.id, j.source_client_name as c,
            exists (select 1 from typesense_sync_jobs k
                     where k.source_client_name = j.source_client_name
                       and k.enabled and k.cdc_enabled) as cdc,
            (j.lease_expires_at is null or j.lease_expires_at <= now()) as free
       from typesense_sync_jobs j
      where j.id = any($1::uuid[]) and j.enabled
        and exists (select 1 from typesense_sync_runs r
                     where r.job_id = j.id and r.status in ('queued', 'running'))`,
    [ids],
  );
  return r.rows;
}
