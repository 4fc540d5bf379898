import { z } from "@hono/zod-openapi";

import { JobCreate } from "../../db/repositories/job-schema.js";

/** The job's create and patch schemas are the repository's (one field list). */
export { JobCreate, JobPatch } from "../../db/repositories/job-schema.js";

/**
 * POST /typesense/sync-jobs/preview: a create body (profile_id optional: a
 * preview touches no backend; `document` as create takes it) and how many
 * sample documents to render.
 */
export const JobPreviewRequest = JobCreate.omit({ profile_id: true })
  .extend({
    profile_id: z.string().min(1).max(200).optional(),
    limit: z.number().int().min(1).max(50).default(5).openapi({
      description: "sample documents to render (the first rows in document id order)",
    }),
  })
  .strict()
  .openapi("SyncJobPreviewRequest");

export const JobPreviewSchema = z
  .object({
    schema: z
      .object({
        name: z.string(),
        fields: z.array(z.object({ name: z.string() }).catchall(z.unknown())),
      })
      .catchall(z.unknown()),
    documents: z.array(z.object({ id: z.string() }).catchall(z.unknown())),
    warnings: z.array(
      z
        .object({
          kind: z.string(),
          message: z.string(),
          field: z.string().optional(),
          document_id: z.string().optional(),
        })
        .catchall(z.unknown()),
    ),
  })
  .openapi("SyncJobPreview");

/** Job rows and view rows are returned as stored; documented loosely. */
export const JobSchema = z
  .object({ id: z.uuid(), profile_id: z.uuid() })
  .catchall(z.unknown())
  .openapi("SyncJob");
export const JobStatusSchema = z
  .object({ id: z.uuid(), sync_health: z.string(), is_stale: z.boolean() })
  .catchall(z.unknown())
  .openapi("SyncJobStatus");
export const RunSchema = z
  .object({
    id: z.uuid(),
    job_id: z.uuid(),
    status: z.string(),
    progress: z.object({
      processed_rows: z.number(),
      total_rows: z.number().nullable(),
      total_kind: z.enum(["exact", "estimated", "unknown"]),
      percent: z.number().nullable(),
    }),
  })
  .catchall(z.unknown())
  .openapi("SyncRun");
