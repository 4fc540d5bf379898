-- The job's document spec (issue 15): how a source row becomes a search
-- document (fields from columns or SQL, a row filter, lookups, children,
-- collection options). Its JSON shape is src/db/repositories/document-spec.ts;
-- the API checks it against the source catalog before it is stored
-- (docs/api.md, "Document spec"). null = no spec: the job renders exactly what
-- it rendered before this column existed (included_columns / queryable_fields).
--
-- typesense_sync_job_status selects j.* of the columns the table had when the
-- view was made (sql/008): the view does not show the spec, the job routes do.
alter table typesense_sync_jobs
  add column document jsonb;
