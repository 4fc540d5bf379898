import { type AuditRecord, requestAudit, selectOpenAudit } from "../db/repositories/audits.js";
import type { Db } from "../db/transaction.js";
import { ServiceError } from "../errors/service-error.js";
import type { ClientScope } from "./client-scope.js";
import { getJob } from "./jobs.js";

/**
 * Queues an on-demand drift audit (POST /typesense/sync-jobs/{job_id}/audit;
 * docs/audit.md). A job outside the caller's scope is not found (404), like an
 * unknown id; an open audit of the job is a conflict (409) naming it. The
 * audit runner of an instance (scheduler/audit-service.ts) claims it.
 */
export async function requestJobAudit(
  db: Db,
  jobId: string,
  scope: ClientScope,
): Promise<{ auditId: string }> {
  await getJob(db, jobId, scope);
  const id = await requestAudit(db, jobId, "manual");
  if (id === "missing") await getJob(db, jobId, scope); // deleted in between: 404
  if (id === null || id === "missing") {
    const open: AuditRecord | null = await selectOpenAudit(db, jobId);
    throw new ServiceError(
      "CONFLICT",
      `sync job ${jobId} has an audit in progress${open ? ` (audit ${open.id})` : ""}; try again after it finishes`,
    );
  }
  return { auditId: id };
}
