-- Control schema for athena-typesense-sync (DESIGN.md section 3).
-- Table names follow Athena's seed 000; columns beyond the seed are ours.
-- Applied once, in one transaction, by `athena-typesense-sync migrate`.
-- gen_random_uuid() is core since PostgreSQL 13: no extension needed.

-- Saved Typesense backends. The API key is stored encrypted (AES-256-GCM,
-- "enc:v1:" prefix) when security.encryption_key is set, otherwise as
-- "plain:<key>". It is never returned by the API: responses carry api_key_last4.
create table typesense_profiles (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (length(name) between 1 and 200),
  base_url text not null check (base_url ~ '^https?://'),
  -- further nodes of a Typesense cluster, same form as base_url
  additional_node_urls text[] not null default '{}',
  api_key_stored text not null,
  api_key_last4 text not null,
  timeout_ms integer not null default 5000 check (timeout_ms > 0 and timeout_ms <= 600000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- A binding of one source table (client + schema + table) to one collection.
create table typesense_sync_jobs (
  id uuid primary key default gen_random_uuid(),
  profile_id uuid not null references typesense_profiles (id) on delete restrict,
  source_client_name text not null check (length(source_client_name) > 0),
  source_schema_name text not null default 'public' check (length(source_schema_name) > 0),
  source_table_name text not null check (length(source_table_name) > 0),
  collection_name text not null check (length(collection_name) > 0),
  document_id_column text not null check (length(document_id_column) > 0),
  included_columns text[] not null default '{}', -- empty = all columns
  queryable_fields text[] not null default '{}',
  sync_interval_seconds integer not null default 3600 check (sync_interval_seconds > 0),
  stale_after_seconds integer not null default 7200 check (stale_after_seconds > 0),
  window_size integer not null default 1000 check (window_size between 1 and 100000),
  enabled boolean not null default true,
  cdc_enabled boolean not null default false,
  -- lease: one UPDATE ... WHERE lease free or expired RETURNING claims it
  lease_owner text,
  lease_token uuid,
  lease_expires_at timestamptz,
  -- freshness fields named by seed 000
  last_synced_at timestamptz,
  next_sync_at timestamptz,
  last_sync_status text check (last_sync_status in ('running', 'succeeded', 'failed')),
  last_sync_error text,
  last_source_row_count bigint check (last_source_row_count >= 0),
  last_imported_count bigint check (last_imported_count >= 0),
  last_failed_count bigint check (last_failed_count >= 0),
  -- CDC progress for this job: the commit LSN whose changes Typesense has confirmed
  cdc_applied_lsn pg_lsn,
  cdc_applied_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- two jobs writing one collection would delete each other's docs in the orphan sweep
  unique (profile_id, collection_name)
);
-- the scheduler's due-job scan
create index typesense_sync_jobs_due_idx on typesense_sync_jobs (next_sync_at) where enabled;
-- search binding resolution by client + schema + table
create index typesense_sync_jobs_source_idx
  on typesense_sync_jobs (source_client_name, source_schema_name, source_table_name);

-- One run of one job (full sync). Seed 000's recovery metadata lives here.
create table typesense_sync_runs (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references typesense_sync_jobs (id) on delete cascade,
  trigger text not null check (trigger in ('schedule', 'manual', 'cli', 'resync')),
  -- queued: created (e.g. by the HTTP run route) and waiting for the engine
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  stage text not null default 'queued'
    check (stage in ('queued', 'manifest', 'windows', 'orphan_sweep', 'rollback', 'finished')),
  stage_message text,
  owner text,
  source_row_count bigint,
  imported_count bigint not null default 0,
  unchanged_count bigint not null default 0,
  failed_count bigint not null default 0,
  deleted_count bigint not null default 0,
  retry_attempt_count integer not null default 0 check (retry_attempt_count >= 0),
  progress_total_kind text not null default 'unknown'
    check (progress_total_kind in ('exact', 'estimated', 'unknown')),
  manifest_total_rows bigint check (manifest_total_rows >= 0),
  manifest_processed_rows bigint not null default 0 check (manifest_processed_rows >= 0),
  next_manifest_seq bigint not null default 0 check (next_manifest_seq >= 0),
  manifest_complete boolean not null default false,
  resume_attempt_count integer not null default 0 check (resume_attempt_count >= 0),
  rollback_attempted boolean not null default false,
  rollback_status text not null default 'not_needed'
    check (rollback_status in ('not_needed', 'running', 'succeeded', 'failed')),
  rollback_restored_count bigint not null default 0,
  rollback_deleted_count bigint not null default 0,
  rollback_error_message text,
  error_message text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  check (finished_at is null or status in ('succeeded', 'failed', 'cancelled'))
);
create index typesense_sync_runs_job_idx on typesense_sync_runs (job_id, created_at desc);
-- at most one unfinished run per job: resume it, never start a second one
create unique index typesense_sync_runs_one_open_idx
  on typesense_sync_runs (job_id) where status in ('queued', 'running');

-- The run-scoped snapshot of ordered document ids (filled with COPY).
create table typesense_sync_run_manifest_rows (
  run_id uuid not null references typesense_sync_runs (id) on delete cascade,
  seq bigint not null check (seq >= 0),
  doc_id text not null,
  primary key (run_id, seq)
);

-- Saga pre-images: what each document looked like before the run wrote it.
-- pre_image null = the document did not exist (rollback deletes it).
create table typesense_sync_run_backups (
  run_id uuid not null references typesense_sync_runs (id) on delete cascade,
  doc_id text not null,
  pre_image jsonb,
  manifest_seq bigint not null,
  restored boolean not null default false,
  primary key (run_id, doc_id)
);

-- One logical replication stream per source client.
create table typesense_cdc_streams (
  id uuid primary key default gen_random_uuid(),
  source_client_name text not null unique,
  slot_name text not null unique,
  publication_name text not null,
  plugin text not null default 'pgoutput' check (plugin in ('pgoutput', 'wal2json')),
  status text not null default 'starting'
    check (status in ('starting', 'streaming', 'backoff', 'stopped', 'error', 'lost')),
  confirmed_lsn pg_lsn,
  last_error text,
  last_error_at timestamptz,
  last_message_at timestamptz,
  last_commit_at timestamptz,
  lag_ms bigint,
  retained_wal_bytes bigint,
  changes_applied bigint not null default 0,
  leader_instance text,
  leader_heartbeat_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Changes or rows Typesense rejected for good (400/404/409/422).
create table typesense_dead_letters (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references typesense_sync_jobs (id) on delete cascade,
  run_id uuid references typesense_sync_runs (id) on delete set null,
  origin text not null check (origin in ('full_sync', 'cdc')),
  doc_id text,
  operation text not null check (operation in ('upsert', 'emplace', 'update', 'delete')),
  payload jsonb,
  error_code integer,
  error_message text not null,
  attempts integer not null default 1 check (attempts > 0),
  status text not null default 'open' check (status in ('open', 'resolved', 'discarded')),
  first_failed_at timestamptz not null default now(),
  last_failed_at timestamptz not null default now(),
  resolved_at timestamptz
);
create index typesense_dead_letters_job_idx
  on typesense_dead_letters (job_id, status, last_failed_at desc);
-- a document that keeps failing is one open letter with a growing attempt count
create unique index typesense_dead_letters_open_doc_idx
  on typesense_dead_letters (job_id, doc_id) where status = 'open' and doc_id is not null;

-- Athena's gateway API keys (seed 001): ath_{public_id}.{secret},
-- key_hash = hex(sha256("{key_salt}:{secret}")).
create table api_keys (
  id uuid primary key default gen_random_uuid(),
  public_id text not null unique check (public_id ~ '^[0-9a-f]{16}$'),
  name text not null check (length(name) > 0),
  description text,
  client_name text,
  key_salt text not null,
  key_hash text not null check (key_hash ~ '^[0-9a-f]{64}$'),
  is_active boolean not null default true,
  expires_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table api_key_rights (
  name text primary key check (name ~ '^(\*|[a-z0-9_]+\.(\*|[a-z0-9_]+))$'),
  description text not null
);

create table api_key_right_grants (
  api_key_id uuid not null references api_keys (id) on delete cascade,
  right_name text not null references api_key_rights (name) on delete restrict,
  created_at timestamptz not null default now(),
  primary key (api_key_id, right_name)
);

insert into api_key_rights (name, description) values
  ('gateway.typesense_proxy', 'All /typesense/* routes and the control plane behind them'),
  ('gateway.typesense_search', 'POST /typesense/search only (search-only key)'),
  ('gateway.*', 'Every gateway right'),
  ('*', 'Every right');

-- Operator-facing freshness and health per job (seed 000's status view).
-- A job is fresh as of its last successful full sync, or, once it has one,
-- as of the last message of its streaming CDC stream.
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
  f.fresh_as_of,
  f.is_stale,
  case
    when not j.enabled then 'disabled'
    when (j.lease_expires_at is not null and j.lease_expires_at > now())
      or r.status = 'running' then 'running'
    when j.last_sync_status = 'failed'
      or (j.cdc_enabled and s.status in ('error', 'lost')) then 'failing'
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
left join typesense_cdc_streams s on s.source_client_name = j.source_client_name
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
          then greatest(s.last_message_at, j.cdc_applied_at)
      end
    ) as fresh_as_of
  ) fa
) f;
