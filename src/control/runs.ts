import type pg from "pg";
import {
  type RunProgress,
  type RunRecord,
  selectRun,
  selectRuns,
} from "../db/repositories/runs.js";
import type { ClientScope } from "./client-scope.js";
import { isUuid, NotFoundError } from "./errors.js";

/** A run row plus a derived progress object (db/repositories/runs.ts). */
export type { RunProgress, RunRecord };

export interface ListRunsFilter {
  scope: ClientScope;
  jobId?: string | undefined;
  status?: string | undefined;
  limit: number;
  offset: number;
}

export async function listRuns(pool: pg.Pool, f: ListRunsFilter): Promise<RunRecord[]> {
  // a job id that is no uuid matches no run (rather than a cast error)
  if (f.jobId !== undefined && !isUuid(f.jobId)) return [];
  return selectRuns(pool, {
    scope: f.scope,
    jobId: f.jobId ?? null,
    status: f.status ?? null,
    limit: f.limit,
    offset: f.offset,
  });
}

export async function getRun(pool: pg.Pool, id: string, scope: ClientScope): Promise<RunRecord> {
  const run = isUuid(id) ? await selectRun(pool, id, scope) : null;
  if (!run) throw new NotFoundError(`sync run ${id} not found`);
  return run;
}
