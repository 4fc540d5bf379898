import type pg from "pg";
import { type ClientScope, jobInScope } from "./client-scope.js";
import { isUuid, NotFoundError } from "./errors.js";
import { withNumbers } from "./rows.js";

/** A run row plus a derived progress object. */
export type RunRecord = Record<string, unknown> & {
  id: string;
  job_id: string;
  status: string;
  progress: RunProgress;
};

/**
 * processed / total with the total's kind (seed 000): only `exact` totals are
 * strict denominators; an `estimated` total may be lower than processed, so
 * percent is capped at 100 and null when the total is unknown.
 */
export interface RunProgress {
  processed_rows: number;
  total_rows: number | null;
  total_kind: "exact" | "estimated" | "unknown";
  percent: number | null;
}

const NUMS = [
  "source_row_count",
  "imported_count",
  "unchanged_count",
  "failed_count",
  "deleted_count",
  "manifest_total_rows",
  "manifest_processed_rows",
  "next_manifest_seq",
  "rollback_restored_count",
  "rollback_deleted_count",
];

function toRecord(row: Record<string, unknown>): RunRecord {
  const r = withNumbers(row, NUMS);
  const processed = (r.manifest_processed_rows as number | null) ?? 0;
  const total = (r.manifest_total_rows as number | null) ?? null;
  const kind = r.progress_total_kind as RunProgress["total_kind"];
  const percent =
    kind === "unknown" || total === null
      ? null
      : total === 0
        ? 100
        : Math.min(100, Math.round((processed / total) * 1000) / 10);
  return {
    ...(r as RunRecord),
    progress: { processed_rows: processed, total_rows: total, total_kind: kind, percent },
  };
}

export interface ListRunsFilter {
  scope: ClientScope;
  jobId?: string | undefined;
  status?: string | undefined;
  limit: number;
  offset: number;
}

export async function listRuns(pool: pg.Pool, f: ListRunsFilter): Promise<RunRecord[]> {
  if (f.jobId !== undefined && !isUuid(f.jobId)) return [];
  const r = await pool.query(
    `select * from typesense_sync_runs
      where ($1::uuid is null or job_id = $1) and ($2::text is null or status = $2)
        and ${jobInScope("job_id", 5)}
      order by created_at desc, id
      limit $3 offset $4`,
    [f.jobId ?? null, f.status ?? null, f.limit, f.offset, f.scope],
  );
  return r.rows.map(toRecord);
}

export async function getRun(pool: pg.Pool, id: string, scope: ClientScope): Promise<RunRecord> {
  if (!isUuid(id)) throw new NotFoundError(`sync run ${id} not found`);
  const r = await pool.query(
    `select * from typesense_sync_runs where id = $1 and ${jobInScope("job_id", 2)}`,
    [id, scope],
  );
  if (!r.rows[0]) throw new NotFoundError(`sync run ${id} not found`);
  return toRecord(r.rows[0]);
}
