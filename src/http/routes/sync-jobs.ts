import { createRoute, z } from "@hono/zod-openapi";
import { identityProblem } from "../../cdc/setup.js";
import { requestJobAudit } from "../../control/audits.js";
import { previewJob } from "../../control/job-preview.js";
import { getJobStatus, listJobStatus } from "../../control/job-status.js";
import { createJob, deleteJob, getJob, listJobs, updateJob } from "../../control/jobs.js";
import { requestRebuild, requestRun } from "../../coordination/request-run.js";
import { startRetargetResync } from "../../coordination/retarget.js";
import type { AppDeps } from "../deps.js";
import {
  authErrors,
  conflictError,
  envelopeOf,
  jsonResponse,
  notFoundError,
  success,
} from "../envelope.js";
import { invalidates } from "../invalidation.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";
import { idParam, jsonBody as json } from "../schemas/common.js";
import {
  JobCreate,
  JobPatch,
  JobPreviewRequest,
  JobPreviewSchema,
  JobSchema,
  JobStatusSchema,
} from "../schemas/jobs.js";
import { clientScopeOf } from "../scope.js";

const tags = ["sync-jobs"];
const JobId = z.object({ job_id: idParam("job_id") });

/**
 * /typesense/sync-jobs: bindings of a source table to a collection. Create and
 * update check the real source table (src/control/job-validation.ts).
 * The static `/status` and `/preview` routes are registered before
 * `/{job_id}` so they win.
 */
export function syncJobRoutes(deps: AppDeps) {
  const pool = deps.pools.control;
  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/status",
        tags,
        summary: "Freshness and health of every job (typesense_sync_job_status view)",
        request: {
          query: z.object({
            sync_health: z
              .enum([
                "disabled",
                "running",
                "failing",
                "degraded",
                "never_synced",
                "stale",
                "healthy",
              ])
              .optional(),
          }),
        },
        responses: {
          200: jsonResponse(envelopeOf(z.array(JobStatusSchema)), "Status rows"),
          ...authErrors,
        },
      }),
      async (c) => {
        const rows = await listJobStatus(pool, {
          scope: clientScopeOf(c),
          health: c.req.valid("query").sync_health,
        });
        return c.json(success(`${rows.length} jobs`, rows), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/",
        tags,
        summary: "List sync jobs",
        request: {
          query: z.object({
            source_client_name: z.string().max(63).optional(),
            enabled: z.enum(["true", "false"]).optional(),
          }),
        },
        responses: { 200: jsonResponse(envelopeOf(z.array(JobSchema)), "Jobs"), ...authErrors },
      }),
      async (c) => {
        const q = c.req.valid("query");
        const jobs = await listJobs(pool, {
          scope: clientScopeOf(c),
          client: q.source_client_name,
          enabled: q.enabled === undefined ? undefined : q.enabled === "true",
        });
        return c.json(success(`${jobs.length} sync jobs`, jobs), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: [requires("gateway.typesense_proxy"), invalidates("bindings")],
        method: "post",
        path: "/",
        tags,
        summary: "Create a sync job (validated against the source table)",
        description:
          "The source table and, when given, the `document` spec are checked against the real " +
          "source catalog; a spec that does not fit is 400 DOCUMENT_SPEC_INVALID naming each " +
          "problem's JSON path (error.problems). Nothing is stored then.",
        request: json(JobCreate),
        responses: {
          201: jsonResponse(envelopeOf(JobSchema), "Created"),
          ...authErrors,
          ...conflictError,
        },
      }),
      async (c) => {
        // a job without its own window_size gets the config's fullsync.window_size
        const job = await createJob(deps.pools, c.req.valid("json"), clientScopeOf(c), {
          windowSize: deps.config.fullsync.window_size,
        });
        return c.json(success("sync job created", job), 201);
      },
    )
    .openapi(
      createRoute({
        // the right of job create: a preview shows what create would make (and the rows)
        middleware: requires("gateway.typesense_proxy"),
        method: "post",
        path: "/preview",
        tags,
        summary: "What a job would make: collection schema, sample documents, warnings",
        description:
          "Takes a job create body (profile_id optional) with an optional `document` spec and " +
          "`limit` (default 5, max 50). Checks it like create and answers the Typesense schema the " +
          "first run would create, the first `limit` documents in document id order and warnings " +
          "(values that do not convert, deletes that cannot name their document). Nothing is " +
          "written: no job, no collection; the source is read in a read-only transaction.",
        request: json(JobPreviewRequest),
        responses: {
          200: jsonResponse(envelopeOf(JobPreviewSchema), "Preview"),
          ...authErrors,
        },
      }),
      async (c) => {
        const preview = await previewJob(
          deps.pools,
          c.req.valid("json"),
          clientScopeOf(c),
          identityProblem,
        );
        return c.json(
          success(
            `preview: ${preview.documents.length} documents, ${preview.warnings.length} warnings`,
            preview,
          ),
          200,
        );
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/{job_id}",
        tags,
        summary: "One sync job",
        request: { params: JobId },
        responses: {
          200: jsonResponse(envelopeOf(JobSchema), "Job"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) =>
        c.json(
          success("sync job", await getJob(pool, c.req.valid("param").job_id, clientScopeOf(c))),
          200,
        ),
    )
    .openapi(
      createRoute({
        middleware: [requires("gateway.typesense_proxy"), invalidates("bindings")],
        method: "patch",
        path: "/{job_id}",
        tags,
        summary: "Update a sync job (source fields are validated again)",
        description:
          "Changing profile_id, source_client_name, source_schema_name, source_table_name, " +
          "collection_name, document_id_column, included_columns or queryable_fields retargets " +
          "the job: a full resync of the new shape follows (resync_queued: true; an open run of " +
          "the old shape is cancelled; 409 while a run holds the lease). The old collection is " +
          "left as it was. A `document` spec is checked against the source catalog (400 " +
          "DOCUMENT_SPEC_INVALID naming each path); a spec change that only adds optional " +
          "fields is applied to the live collection by a full run queued the same way; any " +
          "other spec change queues a rebuild (rebuild_queued: true, rebuild_run_id; reason " +
          "spec_change), the live collection serving until its swap; 409 while another run of " +
          "the job is open, and 409 DOCUMENT_REBUILD_REQUIRED for a CDC job (docs/api.md).",
        request: { params: JobId, ...json(JobPatch) },
        responses: {
          200: jsonResponse(envelopeOf(JobSchema), "Updated"),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
        },
      }),
      async (c) => {
        const { job, resync } = await updateJob(
          deps.pools,
          c.req.valid("param").job_id,
          c.req.valid("json"),
          clientScopeOf(c),
          (db, j, changed, rebuild) =>
            startRetargetResync(db, j, changed, deps.config.cdc.enabled, rebuild),
        );
        if (!resync) return c.json(success("sync job updated", job), 200);
        const data =
          resync.via === "rebuild"
            ? { ...job, rebuild_queued: true, rebuild_run_id: resync.runId }
            : { ...job, resync_queued: resync.queued, resync_run_id: resync.runId };
        return c.json(
          success(
            `sync job updated; ${resync.changed.join(", ")} changed: ${resync.message}`,
            data,
          ),
          200,
        );
      },
    )
    .openapi(
      createRoute({
        middleware: [requires("gateway.typesense_proxy"), invalidates("bindings")],
        method: "delete",
        path: "/{job_id}",
        tags,
        summary: "Delete a sync job with its runs and dead letters (409 while running)",
        request: { params: JobId },
        responses: {
          200: jsonResponse(envelopeOf(z.object({ id: z.string() })), "Deleted"),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
        },
      }),
      async (c) => {
        const id = c.req.valid("param").job_id;
        await deleteJob(pool, id, clientScopeOf(c));
        return c.json(success("sync job deleted", { id }), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/{job_id}/status",
        tags,
        summary: "Freshness and health of one job",
        request: { params: JobId },
        responses: {
          200: jsonResponse(envelopeOf(JobStatusSchema), "Status"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) =>
        c.json(
          success(
            "sync job status",
            await getJobStatus(pool, c.req.valid("param").job_id, clientScopeOf(c)),
          ),
          200,
        ),
    )
    .openapi(
      createRoute({
        middleware: [requires("gateway.typesense_proxy"), invalidates("bindings")],
        method: "post",
        path: "/{job_id}/run",
        tags,
        summary: "Queue a manual run (seed route); the full-sync engine picks it up",
        description:
          "202 with the run id. If an unfinished run exists and no run holds the lease, that run is " +
          "returned (disposition=resumable) and resumes at its checkpoint. 409 while a run holds the " +
          "lease, and `job is disabled` for a disabled job. With typesense.sync_worker_enabled=false " +
          "the instance that took the request runs it (within fullsync.max_concurrent_runs).",
        request: { params: JobId },
        responses: {
          202: jsonResponse(
            envelopeOf(
              z.object({
                run_id: z.uuid(),
                job_id: z.string(),
                disposition: z.enum(["queued", "resumable"]),
              }),
            ),
            "Run queued",
          ),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
        },
      }),
      async (c) => {
        const jobId = c.req.valid("param").job_id;
        const run = await requestRun(pool, { jobId, trigger: "manual", scope: clientScopeOf(c) });
        // after the commit: the run row exists when the scheduler looks for it
        deps.onRunRequested?.(jobId);
        return c.json(
          success(run.disposition === "queued" ? "sync run queued" : "unfinished run will resume", {
            run_id: run.runId,
            job_id: jobId,
            disposition: run.disposition,
          }),
          202,
        );
      },
    )
    .openapi(
      createRoute({
        middleware: [requires("gateway.typesense_proxy"), invalidates("bindings")],
        method: "post",
        path: "/{job_id}/rebuild",
        tags,
        summary:
          "Queue a rebuild: a new collection version built next to the live one, then swapped",
        description:
          '202 with the run id of a run with trigger `rebuild` (docs/full-sync.md "Rebuilds"); ' +
          "its step is `rebuild_stage` in GET /typesense/sync-runs/{run_id}. An open rebuild run " +
          "is returned (disposition=resumable); 409 while another run of the job is open or holds " +
          "the lease, and `job is disabled` for a disabled job.",
        request: { params: JobId },
        responses: {
          202: jsonResponse(
            envelopeOf(
              z.object({
                run_id: z.uuid(),
                job_id: z.string(),
                disposition: z.enum(["queued", "resumable"]),
              }),
            ),
            "Rebuild queued",
          ),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
        },
      }),
      async (c) => {
        const jobId = c.req.valid("param").job_id;
        const run = await requestRebuild(pool, { jobId, scope: clientScopeOf(c) });
        // after the commit: the run row exists when the scheduler looks for it
        deps.onRunRequested?.(jobId);
        return c.json(
          success(run.disposition === "queued" ? "rebuild queued" : "open rebuild will resume", {
            run_id: run.runId,
            job_id: jobId,
            disposition: run.disposition,
          }),
          202,
        );
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "post",
        path: "/{job_id}/audit",
        tags,
        summary: "Queue a drift audit: the collection compared with its source, drift repaired",
        description:
          "202 with the audit id (docs/audit.md). The audit compares counts, ids and the contents " +
          "of a sample or all documents, reports missing, extra and differing documents and, with " +
          "the job's `audit_repair` (default true), repairs them. Its result shows in GET " +
          "/typesense/sync-jobs/status (`last_audit`). 409 while an audit of the job is queued or running.",
        request: { params: JobId },
        responses: {
          202: jsonResponse(
            envelopeOf(z.object({ audit_id: z.uuid(), job_id: z.string() })),
            "Audit queued",
          ),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
        },
      }),
      async (c) => {
        const jobId = c.req.valid("param").job_id;
        const { auditId } = await requestJobAudit(pool, jobId, clientScopeOf(c));
        // after the commit: the audit row exists when the audit service looks for it
        deps.onAuditRequested?.(jobId);
        return c.json(success("drift audit queued", { audit_id: auditId, job_id: jobId }), 202);
      },
    );
}
