import { z } from "@hono/zod-openapi";
import { Name } from "./common.js";

const columns = z.array(Name).max(1600);

/** sql/007; typesense/collection-owner.ts. */
const AdoptFlag = z.boolean().openapi({
  description:
    "let the job manage a collection that already exists without the sidecar's mark (metadata managed_by/job_id): its next run marks it and then writes, adds fields and deletes orphans in it. Default false: such a collection is never touched and the run fails",
});

export const JobCreate = z
  .object({
    profile_id: z.string().min(1).max(200),
    source_client_name: Name,
    source_schema_name: Name.default("public"),
    source_table_name: Name,
    collection_name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/, "letters, digits, _ . - (max 200)"),
    document_id_column: Name,
    included_columns: columns.default([]).openapi({ description: "empty = all columns" }),
    queryable_fields: columns.min(1),
    sync_interval_seconds: z.number().int().min(1).max(31_536_000).optional(),
    stale_after_seconds: z.number().int().min(1).max(31_536_000).optional(),
    window_size: z.number().int().min(1).max(100_000).optional(),
    enabled: z.boolean().optional(),
    cdc_enabled: z.boolean().optional(),
    adopt_existing_collection: AdoptFlag.optional(),
  })
  .strict()
  .openapi("SyncJobCreate");

export const JobPatch = z
  .object({
    profile_id: z.string().min(1).max(200),
    source_client_name: Name,
    source_schema_name: Name,
    source_table_name: Name,
    collection_name: JobCreate.shape.collection_name,
    document_id_column: Name,
    included_columns: columns,
    queryable_fields: columns.min(1),
    sync_interval_seconds: z.number().int().min(1).max(31_536_000),
    stale_after_seconds: z.number().int().min(1).max(31_536_000),
    window_size: z.number().int().min(1).max(100_000),
    enabled: z.boolean(),
    cdc_enabled: z.boolean(),
    adopt_existing_collection: AdoptFlag,
  })
  .partial()
  .strict()
  .openapi("SyncJobPatch");

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
