-- Drift audits (issue 18 point 1; docs/audit.md): a job's collection compared
-- with its source (counts, ids, the contents of a sample or all documents),
-- the drift reported and repaired.

alter table typesense_sync_jobs
  -- how often the job is audited; null or 0: never on a schedule (on demand only)
  add column audit_interval_seconds integer default 86400 check (audit_interval_seconds >= 0),
  -- the fraction of documents whose contents are compared (1 = all); null:
  -- all up to 100,000 rows, a sample of about 100,000 documents above that
  add column audit_sample real check (audit_sample > 0 and audit_sample <= 1),
  -- repair what the audit found (re-send missing and differing, delete extra)
  add column audit_repair boolean not null default true;

create table typesense_sync_audits (
  id uuid primary key default gen_random_uuid(),
  job_id uuid not null references typesense_sync_jobs (id) on delete cascade,
  trigger text not null check (trigger in ('schedule', 'manual')),
  -- queued (on demand, not started) -> running -> succeeded | failed
  status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed')),
  -- the instance running it and until when that claim holds (renewed per
  -- window): an audit whose instance died is taken over once it expired
  owner text,
  expires_at timestamptz,
  -- the content fraction this audit compared (1 = every document)
  sample real,
  repair boolean,
  source_count bigint,
  typesense_count bigint,
  compared_count bigint,
  missing_count bigint,
  extra_count bigint,
  differing_count bigint,
  -- the first few ids of each kind (at most 20)
  missing_ids text[] not null default '{}',
  extra_ids text[] not null default '{}',
  differing_ids text[] not null default '{}',
  repaired_missing bigint not null default 0,
  repaired_extra bigint not null default 0,
  repaired_differing bigint not null default 0,
  -- ids the CDC stream changed while the audit repaired them (it wrote the newer image)
  superseded_count bigint not null default 0,
  -- why found drift was not repaired (audit_repair off, CDC streams the job elsewhere)
  repair_skipped text,
  error text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);

-- at most one open audit per job: a second request is a conflict (409)
create unique index typesense_sync_audits_one_open_idx on typesense_sync_audits (job_id)
  where status in ('queued', 'running');
-- the last audit of a job (status, schedule)
create index typesense_sync_audits_job_idx on typesense_sync_audits (job_id, created_at desc);
