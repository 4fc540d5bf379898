import type pg from "pg";
import { type AuditRecord, selectLastAudits } from "../db/repositories/audits.js";
import {
  type JobStatus,
  selectJobStatus,
  selectJobStatuses,
} from "../db/repositories/job-status.js";
import type { ClientScope } from "./client-scope.js";
import { isUuid, NotFoundError } from "./errors.js";

/** A row of the typesense_sync_job_status view (db/repositories/job-status.ts). */
export type { JobStatus };

/** The job's last finished drift audit as the status shows it (docs/audit.md); null: never audited. */
export interface LastAudit {
  id: string;
  status: string;
  trigger: string;
  finished_at: unknown;
  source_count: number | null;
  typesense_count: number | null;
  missing: number;
  extra: number;
  differing: number;
  repaired: { missing: number; extra: number; differing: number };
  repair_skipped: string | null;
  error: string | null;
}

/** A status row with the job's last audit. */
export type JobStatusView = JobStatus & { last_audit: LastAudit | null };

const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** An audit row as `last_audit` (counts as numbers; the id lists stay on the audit). */
export function lastAuditOf(a: AuditRecord): LastAudit {
  return {
    id: a.id,
    status: a.status,
    trigger: String(a.trigger),
    finished_at: a.finished_at,
    source_count: n(a.source_count),
    typesense_count: n(a.typesense_count),
    missing: n(a.missing_count) ?? 0,
    extra: n(a.extra_count) ?? 0,
    differing: n(a.differing_count) ?? 0,
    repaired: {
      missing: n(a.repaired_missing) ?? 0,
      extra: n(a.repaired_extra) ?? 0,
      differing: n(a.repaired_differing) ?? 0,
    },
    repair_skipped: (a.repair_skipped as string | null) ?? null,
    error: (a.error as string | null) ?? null,
  };
}

/** Adds each job's `last_audit` (ONE query for all rows, not one per job). */
async function withLastAudits<T extends { id: string }>(
  pool: pg.Pool,
  rows: T[],
): Promise<(T & { last_audit: LastAudit | null })[]> {
  if (rows.length === 0) return [];
  const audits = await selectLastAudits(
    pool,
    rows.map((r) => r.id),
  );
  const byJob = new Map(audits.map((a) => [a.job_id, lastAuditOf(a)]));
  return rows.map((r) => ({ ...r, last_audit: byJob.get(r.id) ?? null }));
}

export async function listJobStatus(
  pool: pg.Pool,
  f: { scope: ClientScope; health?: string | undefined },
): Promise<JobStatusView[]> {
  return withLastAudits(
    pool,
    await selectJobStatuses(pool, { scope: f.scope, health: f.health ?? null }),
  );
}

export async function getJobStatus(
  pool: pg.Pool,
  jobId: string,
  scope: ClientScope,
): Promise<JobStatusView> {
  const row = isUuid(jobId) ? await selectJobStatus(pool, jobId, scope) : null;
  if (!row) throw new NotFoundError(`sync job ${jobId} not found`);
  return (await withLastAudits(pool, [row]))[0]!;
}
