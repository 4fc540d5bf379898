import type { Hono } from "hono";
import type { Job as ApiJob } from "../db/repositories/jobs.js";
import { type ApiResult, must } from "./api-client.js";
import type { ConsoleContext, ConsoleDeps, ConsoleEnv } from "./context.js";
import {
  type DocumentDraft,
  documentBody,
  documentFromForm,
  documentFromText,
  documentText,
  PREVIEW_LIMIT,
  type PreviewData,
} from "./document-designer.js";
import type { FieldErrors } from "./form-errors.js";
import { formLevel } from "./form-errors.js";
import { span } from "./format.js";
import {
  CREATE_ONLY_FIELDS,
  DRAFT_FIELDS,
  draftFromForm,
  type JobDraft,
  JobFields,
  jobBody,
  jobErrors,
} from "./job-form.js";
import { emptyDraft, FIELDS, newJobPage } from "./job-new.js";
import { Badge, Page } from "./layout.js";
import { flashOf, html, redirectWith } from "./render.js";
import { describeSourceColumns, describeSourceRelations } from "./source-catalog.js";
import { seg } from "./url.js";

/** A job as the API returns it (JSON of the stored job). */
type Job = ApiJob & {
  /** PATCH responses: the edit retargeted the job and a resync follows. */
  resync_queued?: boolean;
  /** PATCH responses: the spec change needs a new collection and a rebuild follows. */
  rebuild_queued?: boolean;
  /** The job's document spec (null: none; absent before the API stored specs). */
  document?: unknown;
};

/** The document designer's state of a page: the editor's text and a preview, if asked for. */
interface Design {
  document: DocumentDraft;
  preview?: ApiResult<PreviewData>;
}
interface Backend {
  id: string;
  name: string;
}

async function editPage(
  c: ConsoleContext,
  cd: ConsoleDeps,
  job: Job,
  d: JobDraft,
  errors: FieldErrors,
  status = 200,
  design: Design = { document: documentFromText(documentText(job.document)) },
) {
  const where = {
    client: job.source_client_name,
    schema: job.source_schema_name,
    table: job.source_table_name,
  };
  const columns = (await describeSourceColumns(cd.pools, where)) ?? [];
  const relations = await describeSourceRelations(cd.pools, where);
  const top = formLevel(errors, FIELDS);
  return html(
    c,
    <Page title="Edit sync job" session={c.get("session")} nav="jobs" flash={flashOf(c)}>
      <h1>Edit sync job {job.collection_name}</h1>
      <p class="hint">
        Source {job.source_client_name}/{job.source_schema_name}.{job.source_table_name} (fixed;
        bind another table with a new job).
      </p>
      {top.length > 0 ? (
        <p class="flash error" role="alert">
          {top.join(" ")}
        </p>
      ) : null}
      <section class="card">
        <JobFields
          session={c.get("session")}
          action={`/console/jobs/${seg(job.id)}`}
          mode="edit"
          draft={d}
          columns={columns}
          errors={errors}
          design={{
            ...design,
            table: `${job.source_schema_name}.${job.source_table_name}`,
            columns,
            relations,
          }}
        />
      </section>
    </Page>,
    status as 200,
  );
}

/** The form's values of a stored job: numbers become text, the rest as stored. */
function draftOf(j: Job): JobDraft {
  const d: Record<string, unknown> = {};
  for (const k of DRAFT_FIELDS) d[k] = typeof j[k] === "number" ? String(j[k]) : j[k];
  return d as JobDraft;
}

async function listPage(c: ConsoleContext) {
  const api = c.get("api");
  const [jobs, backends] = await Promise.all([
    must(api.call<Job[]>("GET", "/typesense/sync-jobs")),
    must(api.call<Backend[]>("GET", "/typesense/backends")),
  ]);
  const nameOf = new Map(backends.map((b) => [b.id, b.name]));
  return html(
    c,
    <Page title="Sync jobs" session={c.get("session")} nav="jobs" flash={flashOf(c)}>
      <h1>Sync jobs</h1>
      <p>
        <a class="button" href="/console/jobs/new">
          New sync job
        </a>
      </p>
      <div class="scroll card">
        <table>
          <thead>
            <tr>
              <th scope="col">Collection</th>
              <th scope="col">Source</th>
              <th scope="col">Backend</th>
              <th scope="col">Id column</th>
              <th scope="col">Queryable</th>
              <th scope="col">Interval</th>
              <th scope="col">Stale after</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {jobs.length === 0 ? (
              <tr>
                <td colspan={9} class="muted">
                  No sync jobs yet.
                </td>
              </tr>
            ) : null}
            {jobs.map((j) => (
              <tr>
                <td class="mono">{j.collection_name}</td>
                <td class="mono">
                  {j.source_client_name}/{j.source_schema_name}.{j.source_table_name}
                </td>
                <td>{nameOf.get(j.profile_id) ?? j.profile_id}</td>
                <td class="mono">{j.document_id_column}</td>
                <td class="mono">{j.queryable_fields.join(", ")}</td>
                <td>{span(j.sync_interval_seconds)}</td>
                <td>{span(j.stale_after_seconds)}</td>
                <td>
                  <Badge value={j.enabled ? "enabled" : "disabled"} />{" "}
                  {j.cdc_enabled ? <Badge value="cdc" /> : null}
                </td>
                <td>
                  <a
                    href={`/console/jobs/${seg(j.id)}/edit`}
                    aria-label={`Edit ${j.collection_name}`}
                  >
                    Edit
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>,
  );
}

/**
 * Asks the API for the preview of a draft: the create body (an edit's
 * create-only fields from the stored job) with the editor's spec. The answer
 * is rendered on the page it came from; nothing is saved.
 */
async function previewOf(
  c: ConsoleContext,
  d: JobDraft,
  doc: DocumentDraft,
): Promise<{ errors: FieldErrors; design: Design; status: number }> {
  if (doc.error) return { errors: { document: doc.error }, design: { document: doc }, status: 400 };
  const body: Record<string, unknown> = {
    ...jobBody(d, "create"),
    limit: PREVIEW_LIMIT,
    document: doc.spec,
  };
  // a preview needs no backend (none saved yet: step 1 offers an empty choice)
  if (body.profile_id === "") delete body.profile_id;
  const res = await c.get("api").call<PreviewData>("POST", "/typesense/sync-jobs/preview", body);
  if (res.ok) return { errors: {}, design: { document: doc, preview: res }, status: 200 };
  return {
    errors: jobErrors(res, d),
    design: { document: doc },
    status: res.status >= 500 ? 503 : 400,
  };
}

/** The stored job's draft with the posted form's values (the create-only fields stay the job's). */
function postedEditDraft(c: ConsoleContext, job: Job): JobDraft {
  const d = draftFromForm(c.get("form"));
  for (const k of CREATE_ONLY_FIELDS) d[k] = job[k];
  return d;
}

/** Sync jobs: list, create (columns offered from the catalog), edit, preview. */
export function jobRoutes(r: Hono<ConsoleEnv>, cd: ConsoleDeps): void {
  r.get("/jobs", (c) => listPage(c));
  r.get("/jobs/new", (c) => newJobPage(c, cd, emptyDraft(c.req.query()), {}));
  // before /jobs/:id, which would take "preview" for an id
  r.post("/jobs/preview", async (c) => {
    const d = draftFromForm(c.get("form"));
    const p = await previewOf(c, d, documentFromForm(c.get("form")));
    return newJobPage(c, cd, d, p.errors, p.status, p.design);
  });
  r.post("/jobs", async (c) => {
    const d = draftFromForm(c.get("form"));
    const doc = documentFromForm(c.get("form"));
    if (doc.error) return newJobPage(c, cd, d, { document: doc.error }, 400, { document: doc });
    const res = await c
      .get("api")
      .call<Job>("POST", "/typesense/sync-jobs", { ...jobBody(d, "create"), ...documentBody(doc) });
    if (res.ok) {
      return redirectWith(
        c,
        "/console/status",
        "ok",
        `Sync job "${res.data.collection_name}" created. Use "Run now" for its first sync.`,
      );
    }
    const status = res.status >= 500 ? 503 : 400;
    return newJobPage(c, cd, d, jobErrors(res, d), status, { document: doc });
  });
  r.get("/jobs/:id/edit", async (c) => {
    const job = await must(
      c.get("api").call<Job>("GET", `/typesense/sync-jobs/${seg(c.req.param("id"))}`),
    );
    return editPage(c, cd, job, draftOf(job), {});
  });
  r.post("/jobs/:id/preview", async (c) => {
    const api = c.get("api");
    const job = await must(api.call<Job>("GET", `/typesense/sync-jobs/${seg(c.req.param("id"))}`));
    const d = postedEditDraft(c, job);
    const p = await previewOf(c, d, documentFromForm(c.get("form")));
    return editPage(c, cd, job, d, p.errors, p.status, p.design);
  });
  r.post("/jobs/:id", async (c) => {
    const api = c.get("api");
    const job = await must(api.call<Job>("GET", `/typesense/sync-jobs/${seg(c.req.param("id"))}`));
    const d = postedEditDraft(c, job);
    const doc = documentFromForm(c.get("form"));
    if (doc.error) return editPage(c, cd, job, d, { document: doc.error }, 400, { document: doc });
    const res = await api.call<Job>("PATCH", `/typesense/sync-jobs/${seg(job.id)}`, {
      ...jobBody(d, "edit"),
      ...documentBody(doc, job.document),
    });
    if (res.ok)
      return redirectWith(
        c,
        "/console/jobs",
        "ok",
        // a retarget says that a resync follows and the old collection stays, a
        // spec change that needs a new collection that a rebuild follows (the API's message)
        `Sync job "${res.data.collection_name}" saved.${res.data.resync_queued === true || res.data.rebuild_queued === true ? ` ${res.message}` : ""}`,
      );
    const status = res.status >= 500 ? 503 : 400;
    return editPage(c, cd, job, d, jobErrors(res, d), status, { document: doc });
  });
}
