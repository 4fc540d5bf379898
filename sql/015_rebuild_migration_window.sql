-- Issue 16 point 6: the wave-1 migration window. A job on a plain collection
-- (live_version null) moves to an alias on its first rebuild: Typesense cannot
-- alias a name a collection holds, so the swap deletes the plain collection and
-- upserts the alias back to back; a search of the name between the two is a 404.
-- The swap records how long that gap was (ms, from the delete's start to the
-- alias upsert's answer); null for every other run (no window: an alias repoint
-- is one call).
alter table typesense_sync_runs
  add column rebuild_migration_window_ms integer
    check (rebuild_migration_window_ms >= 0);
