import type pg from "pg";
import { type ClientScope, clientInScope } from "./client-scope.js";
import { isUuid, NotFoundError } from "./errors.js";
import { withNumbers } from "./rows.js";

/** A row of the typesense_sync_job_status view (job + latest run + freshness + CDC). */
export type JobStatusRecord = Record<string, unknown> & {
  id: string;
  sync_health: string;
  is_stale: boolean;
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

function toRecord(row: Record<string, unknown>): JobStatusRecord {
  const r = withNumbers(row, NUMS);
  for (const h of HIDDEN) delete r[h];
  return r as JobStatusRecord;
}

export async function listJobStatus(
  pool: pg.Pool,
  f: { scope: ClientScope; health?: string | undefined },
): Promise<JobStatusRecord[]> {
  const r = await pool.query(
    `select * from typesense_sync_job_status
      where ($1::text is null or sync_health = $1) and ${clientInScope("source_client_name", 2)}
      order by source_client_name, source_schema_name, source_table_name, collection_name`,
    [f.health ?? null, f.scope],
  );
  return r.rows.map(toRecord);
}

export async function getJobStatus(
  pool: pg.Pool,
  jobId: string,
  scope: ClientScope,
): Promise<JobStatusRecord> {
  if (!isUuid(jobId)) throw new NotFoundError(`sync job ${jobId} not found`);
  const r = await pool.query(
    `select * from typesense_sync_job_status
      where id = $1 and ${clientInScope("source_client_name", 2)}`,
    [jobId, scope],
  );
  if (!r.rows[0]) throw new NotFoundError(`sync job ${jobId} not found`);
  return toRecord(r.rows[0]);
}
