import { z } from "@hono/zod-openapi";
import { DocumentSpec } from "./document-spec.js";

/**
 * The ONE definition of a sync job's fields (typesense_sync_jobs, sql/001 and
 * later). The API validates with these schemas (http/schemas/jobs.ts
 * re-exports them), the repository writes the fields in this order, and the
 * console's form, draft and views are typed from them: adding a field here is
 * the whole change of its list.
 */

/** A Postgres identifier as the API accepts it (same rule as http/schemas/common.ts Name). */
const Ident = z.string().min(1).max(63);
const columns = z.array(Ident).max(1600);

/** sql/007; typesense/collection-owner.ts. */
const AdoptFlag = z.boolean().openapi({
  description:
    "let the job manage a collection that already exists without the sidecar's mark (metadata managed_by/job_id): its next run marks it and then writes, adds fields and deletes orphans in it. Default false: such a collection is never touched and the run fails",
});

/** sql/010; document-spec.ts (the shape), docs/api.md "Document spec" (the rules). */
// a union rather than .nullable(): the OpenAPI generator drops null (and the
// description) from a nullable $ref, and a client must be told null is allowed
const DocumentField = z.union([DocumentSpec, z.null()]).openapi({
  description:
    "how a row becomes a search document (DocumentSpec; docs/documents.md), checked against the source catalog. null or absent on create: no spec, the job renders included_columns / queryable_fields as before specs existed. PATCH: a new spec, or null to remove it; a change that needs a new collection schema is refused (409 DOCUMENT_REBUILD_REQUIRED)",
});

/** Each field's rule, without optionality or defaults (those differ per request below). */
const fields = {
  profile_id: z.string().min(1).max(200),
  source_client_name: Ident,
  source_schema_name: Ident,
  source_table_name: Ident,
  collection_name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/, "letters, digits, _ . - (max 200)"),
  document_id_column: Ident,
  included_columns: columns,
  queryable_fields: columns.min(1),
  sync_interval_seconds: z.number().int().min(1).max(31_536_000),
  stale_after_seconds: z.number().int().min(1).max(31_536_000),
  window_size: z.number().int().min(1).max(100_000),
  enabled: z.boolean(),
  cdc_enabled: z.boolean(),
  adopt_existing_collection: AdoptFlag,
  document: DocumentField,
};

/** POST: the source and target are required; the table's defaults fill the rest. */
export const JobCreate = z
  .object(fields)
  .partial({
    sync_interval_seconds: true,
    stale_after_seconds: true,
    window_size: true,
    enabled: true,
    cdc_enabled: true,
    adopt_existing_collection: true,
  })
  .extend({
    document: fields.document.default(null),
    source_schema_name: fields.source_schema_name.default("public"),
    included_columns: fields.included_columns
      .default([])
      .openapi({ description: "empty = all columns" }),
  })
  .strict()
  .openapi("SyncJobCreate");

/** PATCH: every field optional and without defaults; a patch changes only what it names. */
export const JobPatch = z.object(fields).partial().strict().openapi("SyncJobPatch");

/** A create request after validation (defaults applied). */
export type JobInput = z.output<typeof JobCreate>;

/**
 * The editable fields as stored: every one present (the table has defaults).
 * Only `document` may be null (no spec), which is why undefined alone is removed.
 */
export type JobFields = { [K in keyof JobInput]-?: Exclude<JobInput[K], undefined> };
export type JobField = keyof JobFields;

/** The editable fields in schema order (the repository's insert column list). */
export const JOB_FIELDS = Object.keys(fields) as JobField[];

/* A stored job (these fields plus the ones the sidecar maintains): `Job` in jobs.ts. */

/** How a field is entered on a form: a list of names, an on/off flag, a number, or text. */
export type JobFieldKind = "list" | "flag" | "number" | "text";

export function jobFieldKind(f: JobField): JobFieldKind {
  const t = fields[f].def.type;
  return t === "array" ? "list" : t === "boolean" ? "flag" : t === "number" ? "number" : "text";
}

/** Fields whose change needs the source table checked again. */
export const SOURCE_FIELDS = [
  "source_client_name",
  "source_schema_name",
  "source_table_name",
  "document_id_column",
  "included_columns",
  "queryable_fields",
] as const satisfies readonly JobField[];

/**
 * Fields that decide which documents a job writes and where: a change of any
 * of them is a retarget (issue 19 point 9). The new target holds nothing of
 * the new shape yet, so a full run of the new shape must follow.
 */
export const RETARGET_FIELDS = [
  "profile_id",
  "collection_name",
  ...SOURCE_FIELDS,
] as const satisfies readonly JobField[];

/** The fields that decide what a job reads and where it writes. */
export type JobTargetField = (typeof RETARGET_FIELDS)[number];
