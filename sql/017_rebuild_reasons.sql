-- Why a rebuild run was queued (issue 16 point 2; docs/full-sync.md "Rebuild
-- triggers"): shown with the run in the API, the status view and the console.
--   manual           POST /typesense/sync-jobs/{job_id}/rebuild (or the console button)
--   spec_change      a job PATCH / declarative apply whose document change needs a new schema
--   schema_mismatch  a full sync found the live collection's schema differs from the table's
--   slot_lost        the CDC replication slot was lost (the resync is a rebuild)
alter table typesense_sync_runs
  add column rebuild_reason text
    check (rebuild_reason in ('manual', 'spec_change', 'schema_mismatch', 'slot_lost')),
  -- what made the rebuild necessary, in words (the spec change's reasons, the mismatching fields)
  add column rebuild_reason_detail text;

-- rebuilds queued before this migration were all asked for through the route
update typesense_sync_runs set rebuild_reason = 'manual'
 where trigger = 'rebuild' and rebuild_reason is null;

alter table typesense_sync_runs
  add constraint typesense_sync_runs_rebuild_reason_trigger_check
    check ((trigger = 'rebuild') = (rebuild_reason is not null));

-- Set when a spec change queues a rebuild (the reasons, in words), cleared by
-- that rebuild's swap (or a retarget to another collection): while set, the
-- live version holds the job's PREVIOUS design, so a plain full sync must not
-- write the stored (new) one into it; it fails and queues the rebuild again
-- (fullsync/collection.ts; docs/full-sync.md "Rebuild triggers").
alter table typesense_sync_jobs add column rebuild_required text;
