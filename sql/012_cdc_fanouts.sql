-- Fan-outs of document spec jobs (issue 15 point 2): a changed lookup or child
-- row names the roots whose documents it changes through a route of the job's
-- spec (src/cdc/root-routes.ts). The stream does not render those roots inside
-- its flush (a lookup row can be shared by 200k roots, and the other jobs of
-- the stream would wait): the flush's checkpoint queues the fan-out here, in
-- the SAME transaction that moves the stream's confirmed LSN, and the stream's
-- fan-out worker renders the roots page by page, each page bracketed by
-- watermarks like a full-sync window (never older than a CDC write), moving
-- after_root_id as pages are written. A crash resumes at after_root_id; a page
-- written twice is written the same way (idempotent).
create table typesense_cdc_fanouts (
  id bigserial primary key,
  job_id uuid not null references typesense_sync_jobs (id) on delete cascade,
  -- JSON path of the spec relation whose route is walked ('*': every root, after
  -- a relation table was truncated); a path the job's spec no longer has is
  -- dropped (the spec change itself queued a full run)
  route_path text not null,
  -- key tuples of the changed rows (each an array of the key columns' text)
  keys jsonb not null,
  -- the last root id (text) whose page was written; null: none yet
  after_root_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index typesense_cdc_fanouts_job_idx on typesense_cdc_fanouts (job_id, id);
