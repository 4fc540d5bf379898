import type pg from "pg";
import {
  type JobStatus,
  selectJobStatus,
  selectJobStatuses,
} from "../db/repositories/job-status.js";
import type { ClientScope } from "./client-scope.js";
import { isUuid, NotFoundError } from "./errors.js";

/** A row of the typesense_sync_job_status view (db/repositories/job-status.ts). */
export type { JobStatus };

export async function listJobStatus(
  pool: pg.Pool,
  f: { scope: ClientScope; health?: string | undefined },
): Promise<JobStatus[]> {
  return selectJobStatuses(pool, { scope: f.scope, health: f.health ?? null });
}

export async function getJobStatus(
  pool: pg.Pool,
  jobId: string,
  scope: ClientScope,
): Promise<JobStatus> {
  const row = isUuid(jobId) ? await selectJobStatus(pool, jobId, scope) : null;
  if (!row) throw new NotFoundError(`sync job ${jobId} not found`);
  return row;
}
