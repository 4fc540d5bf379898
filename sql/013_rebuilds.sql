-- Zero-downtime rebuilds (issue 16; docs/full-sync.md "Rebuilds"). A job's
-- collection_name becomes an alias to the physical collection
-- `<collection_name>__v<N>`; a rebuild builds v(N+1), verifies it, swaps the
-- alias in one call, keeps v(N) for rebuild_keep_previous_seconds, drops it.

alter table typesense_sync_jobs
  -- the version the alias names; null: a wave-1 job on a plain collection
  -- named collection_name (no alias yet; its first rebuild migrates it)
  add column live_version integer check (live_version >= 1),
  -- the version a rebuild is building (committed BEFORE that collection is
  -- created, cleared in the swap's transaction or when it is discarded); CDC
  -- writes every change to it as well as to the live version while it is set
  add column building_version integer check (building_version >= 1),
  -- how long the previous version is kept after a swap before it is dropped
  add column rebuild_keep_previous_seconds integer not null default 600
    check (rebuild_keep_previous_seconds >= 0),
  add constraint typesense_sync_jobs_building_after_live_version_check
    check (building_version is null or live_version is null or building_version > live_version);

-- A rebuild is a run with trigger 'rebuild'.
alter table typesense_sync_runs drop constraint typesense_sync_runs_trigger_check;
alter table typesense_sync_runs add constraint typesense_sync_runs_trigger_check
  check (trigger in ('schedule', 'manual', 'cli', 'resync', 'rebuild'));

alter table typesense_sync_runs
  -- the rebuild's own step (src/fullsync/rebuild-stage.ts); during 'build'
  -- the run's `stage` walks the full-sync stages as any run does
  add column rebuild_stage text
    check (rebuild_stage in ('create', 'build', 'verify', 'swap', 'keep', 'drop', 'discard',
                             'done', 'failed')),
  -- the version that served when the rebuild started; null: a plain collection
  add column rebuild_from_version integer check (rebuild_from_version >= 1),
  add column rebuild_to_version integer check (rebuild_to_version >= 1),
  -- when the alias was repointed, and until when the previous version is kept
  add column rebuild_swapped_at timestamptz,
  add column rebuild_keep_until timestamptz,
  add constraint typesense_sync_runs_rebuild_trigger_check
    check ((trigger = 'rebuild') = (rebuild_stage is not null)),
  add constraint typesense_sync_runs_rebuild_version_order_check
    check (rebuild_to_version is null or rebuild_from_version is null
           or rebuild_to_version > rebuild_from_version);
