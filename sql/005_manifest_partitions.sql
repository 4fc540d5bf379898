-- Full-sync manifests, second step (issue 6 point 7; sql/003 was the first).
-- typesense_sync_run_manifest_rows becomes a table partitioned by run: each
-- run's manifest is its own partition (src/fullsync/manifest-build.ts),
-- attached empty and itself partitioned by seq range, one leaf per chunk: a
-- chunk is loaded unindexed (COPY FREEZE), its key is built once from the
-- loaded rows, and it is attached whole, while the run's windows already read
-- the committed chunks. Why:
-- - 1M ids: 1.5 s of server time into one indexed table, 0.95 s this way (the
--   key built from sorted input instead of one descent + WAL record per id);
-- - a finished or deleted run drops its partition: no delete of a million
--   rows, no vacuum of them (before, every run's manifest stayed forever).
--
-- The table keeps its name, columns, key and meaning: (run_id, seq) -> doc_id.
-- Queries on it name the run, so Postgres reads only that run's partition.
-- Partitions are named typesense_sync_manifest_<run id without dashes>, in the
-- schema of this table; the control role creates them (it owns this schema:
-- it runs these migrations).

alter table typesense_sync_run_manifest_rows rename to typesense_sync_run_manifest_rows_v1;
alter index typesense_sync_run_manifest_rows_pkey rename to typesense_sync_run_manifest_rows_v1_pkey;
alter table typesense_sync_run_manifest_rows_v1
  rename constraint typesense_sync_run_manifest_rows_seq_check
  to typesense_sync_run_manifest_rows_v1_seq_check;
drop trigger typesense_sync_runs_manifest_rows_cascade on typesense_sync_runs;
drop function typesense_sync_run_manifest_rows_cascade();

create table typesense_sync_run_manifest_rows (
  run_id uuid not null,
  seq bigint not null check (seq >= 0),
  doc_id text not null,
  primary key (run_id, seq)
) partition by list (run_id);

-- The partition of a run: its name, or null when the run has none.
create function typesense_sync_manifest_partition(run uuid) returns regclass
  language sql stable as $$
  select c.oid::regclass
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
   where i.inhparent = 'typesense_sync_run_manifest_rows'::regclass
     and c.relname = 'typesense_sync_manifest_' || replace(run::text, '-', '')
$$;

-- Existing manifests move into one partition per run.
do $$
declare
  r record;
  part text;
begin
  for r in select distinct run_id from typesense_sync_run_manifest_rows_v1 loop
    part := 'typesense_sync_manifest_' || replace(r.run_id::text, '-', '');
    execute format('create table %I (like typesense_sync_run_manifest_rows including constraints)', part);
    execute format('insert into %I select run_id, seq, doc_id from typesense_sync_run_manifest_rows_v1 where run_id = %L',
                   part, r.run_id);
    execute format('alter table typesense_sync_run_manifest_rows attach partition %I for values in (%L)',
                   part, r.run_id);
  end loop;
end
$$;
drop table typesense_sync_run_manifest_rows_v1;

-- Cascade: deleting a run drops its manifest partition.
create function typesense_sync_run_manifest_rows_cascade() returns trigger
  language plpgsql as $$
declare
  part regclass := typesense_sync_manifest_partition(old.id);
begin
  if part is not null then
    execute format('drop table %s', part);
  end if;
  return old;
end
$$;

create trigger typesense_sync_runs_manifest_rows_cascade
  after delete on typesense_sync_runs
  for each row execute function typesense_sync_run_manifest_rows_cascade();
