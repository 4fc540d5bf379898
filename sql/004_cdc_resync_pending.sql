-- A CDC join resync that has not been accepted yet (issue: resync lost on restart).
-- A job that joins a CDC stream (new or recreated slot, newly cdc-enabled) needs
-- a full run whose every window is read after the join: changes before the join
-- are not in the stream. The stream's setup sets this (control-DB time, after
-- the slot and publication exist) BEFORE it marks the job joined
-- (cdc_applied_lsn), so the need survives a restart or a leadership move; the
-- transaction that queues (or accepts) that run clears it. Until then the
-- leader of the job's source client requests it again every supervisor poll.
alter table typesense_sync_jobs add column cdc_resync_requested_at timestamptz;
