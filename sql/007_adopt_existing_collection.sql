-- Collection ownership (issue 19, point 3). The sidecar writes, patches, sweeps
-- and deletes only in collections it created: those carry Typesense collection
-- metadata {"managed_by": "athena-typesense-sync", "job_id": <job id>}. A job
-- whose collection already exists without that mark (or with another job's)
-- fails its runs and writes nothing through CDC, until the operator sets this
-- flag: the next full run then writes the job's mark onto the collection
-- (PATCH metadata) and treats it as its own from then on.
alter table typesense_sync_jobs
  add column adopt_existing_collection boolean not null default false;
