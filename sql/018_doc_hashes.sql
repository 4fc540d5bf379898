-- Content hashes of the documents full sync wrote (issue 18 point 1;
-- docs/full-sync.md "Content hashes"). One row per (job, collection as
-- written, doc id): md5 of the document JSON text Postgres rendered
-- (mapper.documentSql), stored only after Typesense confirmed that exact
-- text. A re-sync compares md5(<rendering>) with it inside the source
-- Postgres, so unchanged rows never leave it. A row is a claim "Typesense
-- holds this document": every writer that cannot keep the claim true
-- deletes it (CDC writes, rejected lines, rollbacks, truncates, swaps).
create table typesense_sync_doc_hashes (
  job_id uuid not null references typesense_sync_jobs (id) on delete cascade,
  -- the collection name the doc was written to: the job's name, or a
  -- rebuild's physical version (`<name>__v<N>`), so a new version starts empty
  collection text not null,
  doc_id text not null,
  hash bytea not null check (length(hash) = 16),
  primary key (job_id, collection, doc_id)
);

-- CDC and dead letters invalidate by (job, doc) whatever the collection
create index typesense_sync_doc_hashes_doc_idx on typesense_sync_doc_hashes (job_id, doc_id);
