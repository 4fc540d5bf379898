import { createHash } from "node:crypto";
import type pg from "pg";
import type { JobTargetField } from "./job-schema.js";
import type { Job } from "./jobs.js";

/** A sync job as the CDC stream sees it (typesense_sync_jobs). */
export interface CdcJob {
  id: string;
  profileId: string;
  sourceClientName: string;
  schema: string;
  table: string;
  collectionName: string;
  documentIdColumn: string;
  includedColumns: string[];
  queryableFields: string[];
  /** null: the job has not been part of a stream since it was (re)enabled. */
  cdcAppliedLsn: string | null;
}

/**
 * Jobs of a source client that CDC streams: enabled, cdc_enabled and not
 * parked (`parked: true`: the parked ones instead, for the probe). A parked
 * job is out of the stream until its probe succeeds; it then joins again
 * (and gets its watermarked resync, as any joining job).
 */
export async function loadCdcJobs(
  control: pg.Pool,
  clientName: string,
  o: { parked?: boolean } = {},
): Promise<CdcJob[]> {
  const r = await control.query<
    Pick<Job, "id" | JobTargetField> & { cdc_applied_lsn: string | null }
  >(
    `select id, profile_id, source_client_name, source_schema_name, source_table_name,
            collection_name, document_id_column, included_columns, queryable_fields,
            cdc_applied_lsn::text as cdc_applied_lsn
       from typesense_sync_jobs
      where source_client_name = $1 and enabled and cdc_enabled
        and (cdc_parked_at is not null) = $2
      order by created_at, id`,
    [clientName, o.parked === true],
  );
  return r.rows.map((j) => ({
    id: j.id,
    profileId: j.profile_id,
    sourceClientName: j.source_client_name,
    schema: j.source_schema_name,
    table: j.source_table_name,
    collectionName: j.collection_name,
    documentIdColumn: j.document_id_column,
    includedColumns: j.included_columns,
    queryableFields: j.queryable_fields,
    cdcAppliedLsn: j.cdc_applied_lsn,
  }));
}

/** Source clients that have at least one enabled, cdc_enabled job (parked ones count: they are probed). */
export async function cdcClientNames(control: pg.Pool): Promise<string[]> {
  const r = await control.query<{ c: string }>(
    `select distinct source_client_name as c from typesense_sync_jobs
      where enabled and cdc_enabled order by 1`,
  );
  return r.rows.map((x) => x.c);
}

/**
 * Slot and publication name of a client: `<prefix>_<client>` in the
 * characters slot names allow ([a-z0-9_], at most 63). A client name that
 * had to be changed to fit gets a short hash so "a-b" and "a_b" differ.
 */
export function streamObjectName(prefix: string, clientName: string): string {
  const clean = clientName.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  let name = `${prefix}_${clean}`;
  if (clean !== clientName || name.length > 63) {
    const h = createHash("sha256").update(clientName).digest("hex").slice(0, 8);
    name = `${name.slice(0, 63 - 9)}_${h}`;
  }
  return name;
}
