-- Issue 16, point "lost replication slot" (docs/cdc.md): a lost slot asks for a
-- rebuild of every job of the stream instead of a resync. The reason travels
-- with the job's pending resync marker (cdc_resync_requested_at) and lands on
-- the run that satisfies it.

-- null: an ordinary join resync; else why the stream asked for a rebuild
-- (cleared together with cdc_resync_requested_at)
alter table typesense_sync_jobs add column cdc_resync_reason text;

-- why the run was started, when something other than a person asked for it
-- (a lost replication slot); null otherwise
alter table typesense_sync_runs add column trigger_reason text;
