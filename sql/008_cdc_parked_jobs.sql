-- Issue 19 points 10 and 11: a CDC job whose writes keep failing is parked
-- instead of holding its whole stream in backoff, and the status view says
-- honestly how a job is doing.
--
-- cdc_parked_at / cdc_parked_error: set by the stream when a job's Typesense
-- writes failed for longer than cdc.park_after_ms. In the SAME transaction the
-- stream sets cdc_resync_requested_at (sql/004) and clears cdc_applied_lsn, so
-- that the job's changes the slot moves past afterwards are repaired by a
-- watermarked join resync once the job rejoins the stream (docs/cdc.md,
-- "Parked jobs"). The stream's probe clears both columns when the backend
-- accepts writes again.
alter table typesense_sync_jobs
  add column cdc_parked_at timestamptz,
  add column cdc_parked_error text;

-- When typesense_cdc_streams.status last changed (a stream in backoff for more
-- than a minute is "failing" in the view, a short backoff only "degraded").
alter table typesense_cdc_streams
  add column status_changed_at timestamptz not null default now();

-- sync_health, first match wins:
--   disabled     the job is disabled
--   running      a live lease or a running run
--   failing      the last run failed; the latest finished run failed rows and
--                wrote or confirmed none; the job is parked; its stream is in
--                error/lost, or in backoff for more than a minute
--   degraded     the latest finished run failed some rows, the job has open
--                dead letters, or its stream is in backoff (less than a minute)
--   never_synced no successful full sync yet
--   stale        nothing fresh for more than stale_after_seconds
--   healthy      otherwise
-- The view is dropped and created again: `j.*` must pick up the new columns
-- (create or replace cannot insert columns in the middle).
drop view typesense_sync_job_status;
create view typesense_sync_job_status as
select
  j.*,
  r.id as latest_run_id,
  r.status as latest_run_status,
  r.stage as latest_run_stage,
  r.trigger as latest_run_trigger,
  r.progress_total_kind as latest_run_progress_total_kind,
  r.manifest_total_rows as latest_run_manifest_total_rows,
  r.manifest_processed_rows as latest_run_manifest_processed_rows,
  r.retry_attempt_count as latest_run_retry_attempt_count,
  r.rollback_status as latest_run_rollback_status,
  r.error_message as latest_run_error_message,
  r.created_at as latest_run_created_at,
  r.finished_at as latest_run_finished_at,
  s.status as cdc_status,
  s.lag_ms as cdc_lag_ms,
  s.retained_wal_bytes as cdc_retained_wal_bytes,
  s.last_message_at as cdc_last_message_at,
  s.status_changed_at as cdc_status_changed_at,
  s.last_error as cdc_last_error,
  dl.open_dead_letters,
  f.fresh_as_of,
  f.is_stale,
  case
    when not j.enabled then 'disabled'
    when (j.lease_expires_at is not null and j.lease_expires_at > now())
      or r.status = 'running' then 'running'
    when j.last_sync_status = 'failed'
      or (lf.failed_count > 0 and lf.imported_count + lf.unchanged_count = 0)
      or (j.cdc_enabled and j.cdc_parked_at is not null)
      or (j.cdc_enabled and s.status in ('error', 'lost'))
      or (j.cdc_enabled and s.status = 'backoff'
          and s.status_changed_at < now() - interval '1 minute') then 'failing'
    when lf.failed_count > 0
      or dl.open_dead_letters > 0
      or (j.cdc_enabled and s.status = 'backoff') then 'degraded'
    when j.last_synced_at is null then 'never_synced'
    when f.is_stale then 'stale'
    else 'healthy'
  end as sync_health
from typesense_sync_jobs j
left join lateral (
  select * from typesense_sync_runs r
  where r.job_id = j.id
  order by r.created_at desc
  limit 1
) r on true
left join lateral (
  select r2.imported_count, r2.unchanged_count, r2.failed_count
  from typesense_sync_runs r2
  where r2.job_id = j.id and r2.status in ('succeeded', 'failed')
  order by r2.created_at desc
  limit 1
) lf on true
left join typesense_cdc_streams s on s.source_client_name = j.source_client_name
cross join lateral (
  select count(*)::bigint as open_dead_letters
  from typesense_dead_letters d
  where d.job_id = j.id and d.status = 'open'
) dl
cross join lateral (
  select
    fa.fresh_as_of,
    j.enabled and (
      fa.fresh_as_of is null
      or fa.fresh_as_of < now() - make_interval(secs => j.stale_after_seconds)
    ) as is_stale
  from (
    select greatest(
      j.last_synced_at,
      case
        when j.cdc_enabled and j.last_synced_at is not null and s.status = 'streaming'
          and j.cdc_parked_at is null
          then greatest(s.last_message_at, j.cdc_applied_at)
      end
    ) as fresh_as_of
  ) fa
) f;
