import { jobFieldKind } from "../db/repositories/job-schema.js";
import { type ApiResult, must } from "./api-client.js";
import type { ConsoleContext, ConsoleDeps } from "./context.js";
import { type DocumentDraft, documentFromText, type PreviewData } from "./document-designer.js";
import type { FieldErrors } from "./form-errors.js";
import { formLevel } from "./form-errors.js";
import {
  blankDraft,
  CREATE_ONLY_FIELDS,
  DRAFT_FIELDS,
  type JobDraft,
  JobFields,
} from "./job-form.js";
import { FieldError, invalid, Page } from "./layout.js";
import { flashOf, html } from "./render.js";
import {
  describeSourceColumns,
  describeSourceRelations,
  listSourceTables,
  type SourceColumn,
  type SourceRelation,
} from "./source-catalog.js";

interface Backend {
  id: string;
  name: string;
}

/** Fields shown on the job forms (the flags are checkboxes); API errors about others go above the form. */
export const FIELDS: string[] = [
  ...DRAFT_FIELDS.filter((f) => jobFieldKind(f) !== "flag"),
  // the document designer's textarea (document-designer.tsx)
  "document",
];

/**
 * A new job's draft: the step-1 choices from the query string, the table's
 * name as the collection's, and the console's suggested intervals (shorter
 * than the table's defaults, which suit jobs created through the API).
 */
export const emptyDraft = (q: Record<string, string>): JobDraft => {
  const d = blankDraft();
  for (const k of CREATE_ONLY_FIELDS) d[k] = q[k] ?? "";
  d.collection_name = q.source_table_name ?? "";
  d.sync_interval_seconds = "300";
  d.stale_after_seconds = "900";
  d.enabled = true;
  return d;
};

/** Step 1 (a GET form: works without JS; htmx reloads the editor on every change). */
export async function newJobPage(
  c: ConsoleContext,
  cd: ConsoleDeps,
  d: JobDraft,
  errors: FieldErrors,
  status = 200,
  design: { document: DocumentDraft; preview?: ApiResult<PreviewData> } = {
    document: documentFromText(""),
  },
) {
  const s = c.get("session");
  const backends = await must(c.get("api").call<Backend[]>("GET", "/typesense/backends"));
  // a client-bound session browses only its own client's catalog (the API refuses the rest)
  const clients = cd.pools.sourceNames().filter((n) => !s.client || n === s.client);
  if (!clients.includes(d.source_client_name)) d.source_client_name = clients[0] ?? "";
  if (!backends.some((b) => b.id === d.profile_id)) d.profile_id = backends[0]?.id ?? "";
  let tables: Awaited<ReturnType<typeof listSourceTables>> = [];
  try {
    if (d.source_client_name) tables = await listSourceTables(cd.pools, d.source_client_name);
  } catch (e) {
    cd.log.warn({ component: "console", err: e }, "cannot read the source catalog");
    errors = {
      ...errors,
      source_client_name: `Cannot read the tables of "${d.source_client_name}": its database is unavailable.`,
    };
  }
  const schemas = [...new Set(tables.map((t) => t.schema))];
  if (!schemas.includes(d.source_schema_name)) {
    d.source_schema_name = schemas.includes("public") ? "public" : (schemas[0] ?? "public");
  }
  const inSchema = tables.filter((t) => t.schema === d.source_schema_name);
  let columns: SourceColumn[] | null = null;
  let relations: SourceRelation[] = [];
  if (inSchema.some((t) => t.table === d.source_table_name)) {
    const where = {
      client: d.source_client_name,
      schema: d.source_schema_name,
      table: d.source_table_name,
    };
    columns = await describeSourceColumns(cd.pools, where);
    relations = await describeSourceRelations(cd.pools, where);
    if (columns && !d.document_id_column) {
      d.document_id_column =
        (columns.find((x) => x.primaryKey) ?? columns.find((x) => x.unique))?.name ?? "";
    }
    if (!d.collection_name) d.collection_name = d.source_table_name;
  }
  const top = formLevel(errors, FIELDS);
  return html(
    c,
    <Page title="New sync job" session={s} nav="jobs" flash={flashOf(c)}>
      <h1>New sync job</h1>
      <div id="job-editor">
        {top.length > 0 ? (
          <p class="flash error" role="alert">
            {top.join(" ")}
          </p>
        ) : null}
        <form
          method="get"
          action="/console/jobs/new"
          class="card"
          hx-get="/console/jobs/new"
          hx-trigger="change"
          hx-target="#job-editor"
          hx-select="#job-editor"
          hx-swap="outerHTML"
          hx-push-url="true"
        >
          <h2>1. Source and backend</h2>
          {backends.length === 0 ? (
            <p class="flash error">
              No backends yet: <a href="/console/backends">add one</a> first.
            </p>
          ) : null}
          <div class="grid2">
            <div>
              <label for="profile_id">Backend</label>
              <select id="profile_id" name="profile_id" {...invalid("profile_id", errors)}>
                {backends.map((b) => (
                  <option value={b.id} selected={b.id === d.profile_id}>
                    {b.name}
                  </option>
                ))}
              </select>
              <FieldError name="profile_id" errors={errors} />
              <label for="source_client_name">Athena client</label>
              <select
                id="source_client_name"
                name="source_client_name"
                {...invalid("source_client_name", errors)}
              >
                {clients.map((n) => (
                  <option selected={n === d.source_client_name}>{n}</option>
                ))}
              </select>
              <FieldError name="source_client_name" errors={errors} />
            </div>
            <div>
              <label for="source_schema_name">Schema</label>
              <select
                id="source_schema_name"
                name="source_schema_name"
                {...invalid("source_schema_name", errors)}
              >
                {schemas.map((n) => (
                  <option selected={n === d.source_schema_name}>{n}</option>
                ))}
              </select>
              <FieldError name="source_schema_name" errors={errors} />
              <label for="source_table_name">Table</label>
              <select
                id="source_table_name"
                name="source_table_name"
                {...invalid("source_table_name", errors)}
              >
                <option value="">Choose a table…</option>
                {inSchema.map((t) => (
                  <option selected={t.table === d.source_table_name}>{t.table}</option>
                ))}
              </select>
              <FieldError name="source_table_name" errors={errors} />
            </div>
          </div>
          <div class="actions">
            <button type="submit" class="secondary">
              Load columns
            </button>
          </div>
        </form>
        {columns ? (
          <section class="card" aria-labelledby="step2">
            <h2 id="step2">
              2. Columns of {d.source_schema_name}.{d.source_table_name}
            </h2>
            <JobFields
              session={s}
              action="/console/jobs"
              mode="create"
              draft={d}
              columns={columns}
              errors={errors}
              design={{
                ...design,
                table: `${d.source_schema_name}.${d.source_table_name}`,
                columns,
                relations,
              }}
            />
          </section>
        ) : null}
      </div>
    </Page>,
    status as 200,
  );
}
