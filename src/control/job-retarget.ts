import type pg from "pg";
import { ConflictError } from "./errors.js";

/**
 * Fields that decide which documents a job writes and where: a change of any
 * of them is a retarget (issue 19 point 9). The new target holds nothing of
 * the new shape yet, so a full run of the new shape must follow.
 */
export const RETARGET_FIELDS = [
  "profile_id",
  "source_client_name",
  "source_schema_name",
  "source_table_name",
  "collection_name",
  "document_id_column",
  "included_columns",
  "queryable_fields",
] as const;

/** The retarget fields whose value the patch changes (arrays compared element-wise, in order). */
export function retargetedFields(
  row: Record<string, unknown>,
  patch: Record<string, unknown>,
): string[] {
  return RETARGET_FIELDS.filter(
    (f) => patch[f] !== undefined && JSON.stringify(patch[f]) !== JSON.stringify(row[f]),
  );
}

/** 409 while a run holds the job's lease: that run reads and writes the old target. */
export async function assertNoLiveRun(db: pg.PoolClient, jobId: string): Promise<void> {
  const r = await db.query<{ leased: boolean }>(
    `select coalesce(lease_expires_at > now(), false) as leased
       from typesense_sync_jobs where id = $1`,
    [jobId],
  );
  if (r.rows[0]?.leased) {
    throw new ConflictError(
      `sync job ${jobId} is running; change its target (profile, collection, source table or fields) after the run`,
    );
  }
}
