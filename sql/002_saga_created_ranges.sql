-- Saga marker of a full-sync run that began writing into an EMPTY collection
-- (issue 6, saga cost on first syncs). Instead of one "did not exist" backup
-- row per document, the run records how far into its manifest it may have
-- written: every manifest doc with seq < upto_seq did not exist before the run,
-- and rollback deletes them. Raised (durably) before each window's write;
-- lowered batch by batch while a rollback deletes, so a crash mid-rollback
-- resumes where it stopped. No row = no marker (per-document backups only).
create table typesense_sync_run_created_ranges (
  run_id uuid primary key references typesense_sync_runs (id) on delete cascade,
  upto_seq bigint not null check (upto_seq >= 0)
);
