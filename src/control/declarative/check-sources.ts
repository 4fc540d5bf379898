import { CatalogError } from "../../catalog/index.js";
import type { Pools } from "../../db/pool.js";
import { SOURCE_FIELDS } from "../../db/repositories/job-schema.js";
import { ServiceError } from "../../errors/service-error.js";
import { type JobSource, validateJobSource } from "../job-validation.js";
import { fileIssue, JobsFileError, type JobsFileIssue, type JobsFileSpec } from "./file-format.js";
import type { Plan } from "./plan.js";

/**
 * Checks every job the plan creates, or whose source fields it changes,
 * against the REAL source table (validateJobSource, what the API's create and
 * update run), before apply writes anything: a file with one bad job changes
 * nothing. Every failure is collected; the messages name the entry's field.
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
    if (!source) continue;
    try {
      await validateJobSource(pools, source);
    } catch (e) {
      if (!(e instanceof ServiceError)) throw e;
      const field = fieldOf(e);
      const path = field ? ["jobs", c.desired.index, field] : ["jobs", c.desired.index];
      issues.push(fileIssue(spec, path, e.message));
    }
  }
  if (issues.length > 0) throw new JobsFileError(spec.file, issues);
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
