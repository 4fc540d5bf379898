import { ServiceError } from "../errors/service-error.js";
import type { CollectionSummary } from "./backend-types.js";

/** `metadata.managed_by` of every collection the sidecar creates (or adopted). */
export const MANAGED_BY = "athena-typesense-sync";

/** The metadata mark a job puts on its collection. */
export function ownerMark(jobId: string): { managed_by: string; job_id: string } {
  return { managed_by: MANAGED_BY, job_id: jobId };
}

/** Whose a collection is, as far as `jobId` is concerned. */
export type Ownership =
  | { kind: "missing" }
  | { kind: "owned" }
  /** No sidecar mark: made by hand or by another tool. */
  | { kind: "unmarked" }
  /** Marked for another sync job (a deleted job's leftover, or a second backend on one server). */
  | { kind: "other-job"; jobId: string };

export function ownershipOf(summary: CollectionSummary | null, jobId: string): Ownership {
  if (!summary) return { kind: "missing" };
  const meta = summary.metadata;
  const m = meta !== null && typeof meta === "object" ? (meta as Record<string, unknown>) : {};
  if (m.managed_by !== MANAGED_BY) return { kind: "unmarked" };
  if (m.job_id === jobId) return { kind: "owned" };
  return { kind: "other-job", jobId: typeof m.job_id === "string" ? m.job_id : String(m.job_id) };
}

/**
 * The job's collection exists and is not the job's: nothing may be written,
 * patched, swept or deleted in it. The message says how to adopt it.
 */
export class CollectionNotOwnedError extends ServiceError {
  override readonly name = "CollectionNotOwnedError";
  constructor(
    readonly collection: string,
    readonly ownership: Exclude<Ownership, { kind: "missing" } | { kind: "owned" }>,
  ) {
    const whose =
      ownership.kind === "unmarked"
        ? "was not created by athena-typesense-sync (its metadata has no managed_by mark)"
        : `is managed by sync job ${ownership.jobId}, not this job`;
    super(
      "COLLECTION_NOT_OWNED",
      `collection "${collection}" already exists and ${whose}; nothing was written to it. ` +
        "To let this job manage it (write, add fields, delete orphans), set " +
        "adopt_existing_collection: true on the job and run it again, or point the job at another collection",
    );
  }
}
