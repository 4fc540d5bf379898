import type { Pools } from "../db/pool.js";
import type { DocumentSpec } from "../db/repositories/document-spec.js";
import type { JobInput } from "../db/repositories/job-schema.js";
import { type ResolvedDocument, resolveDocumentSpec, type SpecJob } from "../documents/index.js";
import { ServiceError } from "../errors/service-error.js";
import {
  canonicalSpec,
  classifyDocumentChange,
  type DocumentChange,
  type DocumentSide,
  describeRebuild,
  type RebuildReason,
} from "./document-change.js";
import { UnavailableError } from "./errors.js";

/*
 * The job's document spec against its source (issue 15): checked on create
 * and update (resolveDocumentSpec, the same resolution full sync and CDC
 * render with), and a live job's spec change classified (document-change.ts).
 */

/** The job's fields a spec is resolved with (a stored job or a create/merged patch body). */
export type JobForSpec = Pick<
  JobInput,
  | "source_client_name"
  | "source_schema_name"
  | "source_table_name"
  | "document_id_column"
  | "included_columns"
  | "queryable_fields"
  | "collection_name"
>;

function specJobOf(job: JobForSpec): SpecJob {
  return {
    schema: job.source_schema_name ?? "public",
    table: job.source_table_name,
    documentIdColumn: job.document_id_column,
    includedColumns: job.included_columns ?? [],
    queryableFields: job.queryable_fields,
  };
}

/**
 * Resolves `spec` for the job against the REAL source catalog (read-only,
 * under statement_timeout). A spec that does not fit throws DocumentSpecError
 * (400 DOCUMENT_SPEC_INVALID, every problem at its JSON path); a source that
 * cannot be reached is 503, as validateJobSource answers.
 */
export async function resolveJobDocument(
  pools: Pools,
  job: JobForSpec,
  spec: DocumentSpec,
): Promise<ResolvedDocument> {
  try {
    return await resolveDocumentSpec(pools.source(job.source_client_name), specJobOf(job), spec);
  } catch (e) {
    if (e instanceof ServiceError) throw e;
    throw new UnavailableError(
      `source database of client "${job.source_client_name}" is unavailable`,
    );
  }
}

/**
 * A live CDC job's spec change that needs a new collection (409; docs/api.md
 * "Changing a spec"): a rebuild of a CDC job is not possible yet. Every other
 * such change queues a rebuild (control/jobs.ts updateJob).
 */
export class DocumentRebuildRequiredError extends ServiceError {
  override readonly name = "DocumentRebuildRequiredError";
  constructor(readonly reasons: readonly RebuildReason[]) {
    super("DOCUMENT_REBUILD_REQUIRED", describeRebuild(reasons), { detail: { reasons } });
  }
}

/**
 * One side of a change: the spec's collection schema, or for no spec the
 * schema today's rendering makes (an empty spec resolves to exactly the
 * mapper's fields: documents/spec/resolve.ts defaultFields).
 */
async function sideOf(
  pools: Pools,
  job: JobForSpec,
  spec: DocumentSpec | null,
  known?: ResolvedDocument,
): Promise<DocumentSide> {
  const resolved =
    known ?? (await resolveJobDocument(pools, job, spec ?? { lookups: [], children: [] }));
  const { name: _n, metadata: _m, ...schema } = resolved.collectionSchema(job.collection_name);
  return { spec, schema };
}

/**
 * What changing the stored job's spec to `merged.document` does to its live
 * collection (a change that needs a new one is `needs-rebuild`, with its
 * reasons). `resolved`: the new spec as the caller resolved it (a bad spec
 * is a 400 before this; undefined when the new spec is null). The old side is
 * resolved against the catalog as it is now: when it no longer resolves,
 * what the collection holds cannot be compared, and the change needs a
 * rebuild too (never guessed).
 */
export async function checkDocumentChange(
  pools: Pools,
  stored: JobForSpec & { document: DocumentSpec | null },
  merged: JobForSpec & { document: DocumentSpec | null },
  resolved?: ResolvedDocument,
): Promise<DocumentChange> {
  if (canonicalSpec(stored.document) === canonicalSpec(merged.document)) return { kind: "none" };
  let before: DocumentSide;
  try {
    before = await sideOf(pools, stored, stored.document);
  } catch (e) {
    if (!(e instanceof ServiceError) || e.code === "DEPENDENCY_UNAVAILABLE") throw e;
    return {
      kind: "needs-rebuild",
      reasons: [
        {
          path: "document",
          reason: `the job's current design no longer fits its source (${e.message}), so it cannot be compared with the new one`,
        },
      ],
    };
  }
  const after = await sideOf(pools, merged, merged.document, resolved);
  return classifyDocumentChange(before, after);
}
