-- Full-sync manifest writes (issue 6 point 7). The manifest is written with one
-- COPY of every document id of the table; its foreign key to the run fired a
-- per-row RI check (a key-share lookup of the run row per inserted id), about
-- 3.7 us of Postgres CPU per id: more than twice the rest of the manifest build
-- (200,000 ids: 1.14 s of server CPU with the key, 0.41 s without).
--
-- Replaced by what the key gave us, without the per-row check:
-- - cascade: deleting a run deletes its manifest rows (trigger below, per run);
-- - existence: buildManifest (src/fullsync/manifest.ts) writes the rows and
--   marks the run's manifest complete in ONE transaction, and rolls back when
--   that UPDATE finds no run row, so no manifest row outlives or predates its run.
alter table typesense_sync_run_manifest_rows
  drop constraint typesense_sync_run_manifest_rows_run_id_fkey;

create function typesense_sync_run_manifest_rows_cascade() returns trigger
  language plpgsql as $$
begin
  delete from typesense_sync_run_manifest_rows where run_id = old.id;
  return old;
end
$$;

create trigger typesense_sync_runs_manifest_rows_cascade
  after delete on typesense_sync_runs
  for each row execute function typesense_sync_run_manifest_rows_cascade();
