import { CatalogError } from "../../catalog/index.js";
import type { Pools } from "../../db/pool.js";
import { SOURCE_FIELDS } from "../../db/repositories/job-schema.js";
import { DocumentSpecError } from "../../documents/index.js";
import { ServiceError } from "../../errors/service-error.js";
import { describeReasons } from "../document-change.js";
import { DocumentRebuildRequiredError, resolveJobDocument } from "../job-document.js";
import { type JobSource, validateJobSource } from "../job-validation.js";
import { checkDocumentUpdate } from "../jobs.js";
import { fileIssue, JobsFileError, type JobsFileIssue, type JobsFileSpec } from "./file-format.js";
import type { JobChange, Plan } from "./plan.js";

/**
 * Checks every job the plan creates, or whose source fields or document spec
 * it changes, against the REAL source catalog, with what the API's create and
 * update run (validateJobSource, then the spec's resolution and, for a
 * changed spec of an existing job, its change rule: checkJobDocument), before
 * apply writes anything: a file with one bad job changes nothing. Every
 * failure is collected; the messages name the entry's field (a spec problem
 * its path inside `document`, with the file's line).
 */
export async function checkPlanSources(
  spec: JobsFileSpec,
  plan: Plan,
  pools: Pools,
): Promise<void> {
  const issues: JobsFileIssue[] = [];
  for (const c of plan.jobs) {
    if (c.action !== "create" && c.action !== "update") continue;
    let source: JobSource | null = null;
    if (c.action === "create") source = c.input;
    else if (SOURCE_FIELDS.some((f) => c.patch[f] !== undefined)) {
      source = { ...c.current, ...c.patch };
    }
    try {
      if (source) await validateJobSource(pools, source);
      await checkJobDocument(pools, c);
    } catch (e) {
      if (!(e instanceof ServiceError)) throw e;
      issues.push(...issuesOf(spec, c.desired.index, e));
    }
  }
  if (issues.length > 0) throw new JobsFileError(spec.file, issues);
}

/**
 * The spec of a created job resolved; a changed one resolved and classified
 * by the same function updateJob runs (a move to another collection, in
 * `retarget`, takes any spec). A change that needs a new collection is noted
 * on the plan (`rebuild`): plan shows it, apply's PATCH queues the rebuild.
 */
async function checkJobDocument(pools: Pools, c: JobChange): Promise<void> {
  if (c.action === "create") {
    if (c.input.document) await resolveJobDocument(pools, c.input, c.input.document);
  } else if (c.action === "update") {
    const doc = await checkDocumentUpdate(pools, c.current, c.patch, c.retarget);
    if (doc.rebuild) c.rebuild = describeReasons(doc.rebuild);
  }
}

/** A control error as file issues: each spec problem or rebuild reason at its own path. */
function issuesOf(spec: JobsFileSpec, index: number, e: ServiceError): JobsFileIssue[] {
  const at = (p: string) => ["jobs", index, ...specPath(p)];
  if (e instanceof DocumentSpecError) {
    return e.problems.map((p) => fileIssue(spec, at(p.path), p.message));
  }
  if (e instanceof DocumentRebuildRequiredError) {
    return e.reasons.map((r) =>
      fileIssue(
        spec,
        at(r.path),
        `${r.reason}: this change needs a new collection, and a CDC job's stream would write the new design into the live version until the rebuild swaps; set cdc_enabled: false in the same change, move the job with moved_from and a new collection_name, or keep the spec`,
      ),
    );
  }
  const field = fieldOf(e);
  return [fileIssue(spec, field ? ["jobs", index, field] : ["jobs", index], e.message)];
}

/** "document.lookups[0].on.brand_id" -> ["document", "lookups", 0, "on", "brand_id"]. */
function specPath(p: string): PropertyKey[] {
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
    m[2] !== undefined ? Number(m[2]) : m[1]!,
  );
}

/** The field a control error names (InvalidInputError.field, UnknownClientError's detail). */
function fieldOf(e: ServiceError): string | undefined {
  const own = (e as { field?: unknown }).field;
  if (typeof own === "string") return own;
  const detail = e.detail as { field?: unknown } | undefined;
  if (typeof detail?.field === "string") return detail.field;
  // a missing table or view (a missing column is named in the message)
  if (e instanceof CatalogError && e.column === undefined) return "source_table_name";
  return undefined;
}
