import { z } from "@hono/zod-openapi";

/** The job's create and patch schemas are the repository's (one field list). */
export { JobCreate, JobPatch } from "../../db/repositories/job-schema.js";

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
