import type { Db } from "../transaction.js";
import type { Job } from "./jobs.js";
import { withNumbers } from "./rows.js";
import { type RebuildProgress, rebuildProgressOf } from "./runs.js";
import { type ClientScope, clientInScope } from "./scope-sql.js";

/** typesense_sync_job_status.sync_health (sql/008: first match wins). */
export type SyncHealth =
  | "disabled"
  | "running"
  | "failing"
  | "degraded"
  | "never_synced"
  | "stale"
  | "healthy";

/**
 * A row of the typesense_sync_job_status view (sql/008): the job (`j.*`, as
 * a Job) plus its latest run, its stream's state, open dead letters and
 * freshness. Every latest_run_* / cdc_* column is null when there is no run
 * or stream.
 */
export type JobStatus = Job & {
  latest_run_id: string | null;
  latest_run_status: string | null;
  latest_run_stage: string | null;
  latest_run_trigger: string | null;
  latest_run_progress_total_kind: "exact" | "estimated" | "unknown" | null;
  latest_run_manifest_total_rows: number | null;
  latest_run_manifest_processed_rows: number | null;
  latest_run_retry_attempt_count: number | null;
  latest_run_rollback_status: string | null;
  latest_run_error_message: string | null;
  latest_run_created_at: Date | null;
  latest_run_finished_at: Date | null;
  /** The latest run's rebuild step and progress (runs.ts RebuildProgress); null: not a rebuild. */
  latest_run_rebuild: RebuildProgress | null;
  cdc_status: string | null;
  cdc_lag_ms: number | null;
  cdc_retained_wal_bytes: number | null;
  cdc_last_message_at: Date | null;
  cdc_status_changed_at: Date | null;
  cdc_last_error: string | null;
  open_dead_letters: number;
  fresh_as_of: Date | null;
  is_stale: boolean;
  sync_health: SyncHealth;
};

const NUMS = [
  "last_source_row_count",
  "last_imported_count",
  "last_failed_count",
  "latest_run_manifest_total_rows",
  "latest_run_manifest_processed_rows",
  "cdc_lag_ms",
  "cdc_retained_wal_bytes",
  "open_dead_letters",
];

// Lease internals are not part of the status payload.
const HIDDEN = ["lease_token"];

/**
 * The status view's row with its latest run's rebuild columns (`rb_*`), read
 * next to the view (sql/008 is not changed for them).
 */
const STATUS_SELECT = `select s.*, rb.rebuild_stage as rb_rebuild_stage,
       rb.rebuild_reason as rb_rebuild_reason, rb.rebuild_reason_detail as rb_rebuild_reason_detail,
       rb.rebuild_from_version as rb_rebuild_from_version,
       rb.rebuild_to_version as rb_rebuild_to_version,
       rb.rebuild_swapped_at as rb_rebuild_swapped_at, rb.rebuild_keep_until as rb_rebuild_keep_until,
       rb.manifest_processed_rows as rb_manifest_processed_rows,
       rb.manifest_total_rows as rb_manifest_total_rows,
       rb.progress_total_kind as rb_progress_total_kind
  from typesense_sync_job_status s
  left join typesense_sync_runs rb on rb.id = s.latest_run_id and rb.trigger = 'rebuild'`;

function toStatus(row: Record<string, unknown>): JobStatus {
  const rebuild = rebuildProgressOf(row, "rb_", Number(row.window_size ?? 1));
  const own = Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith("rb_")));
  const r = withNumbers(own, NUMS);
  for (const h of HIDDEN) delete r[h];
  return { ...r, latest_run_rebuild: rebuild } as unknown as JobStatus;
}

/** Status rows in the scope, optionally of one health, in source order. */
export async function selectJobStatuses(
  db: Db,
  f: { scope: ClientScope; health: string | null },
): Promise<JobStatus[]> {
  const r = await db.query(
    `${STATUS_SELECT}
      where ($1::text is null or s.sync_health = $1) and ${clientInScope("s.source_client_name", 2)}
      order by s.source_client_name, s.source_schema_name, s.source_table_name, s.collection_name`,
    [f.health, f.scope],
  );
  return r.rows.map(toStatus);
}

/** One job's status row in the scope, or null. */
export async function selectJobStatus(
  db: Db,
  jobId: string,
  scope: ClientScope,
): Promise<JobStatus | null> {
  const r = await db.query(
    `${STATUS_SELECT} where s.id = $1 and ${clientInScope("s.source_client_name", 2)}`,
    [jobId, scope],
  );
  return r.rows[0] ? toStatus(r.rows[0]) : null;
}
