import type { Db } from "../transaction.js";
import { type ClientScope, clientInScope } from "./scope-sql.js";

/**
 * Reads of typesense_cdc_streams for the API and the readiness probe
 * (control/cdc-streams.ts, control/cdc-readiness.ts). Read-only: the CDC
 * streams write these rows (src/cdc). Rows come back in the API's snake_case
 * shape.
 */

export interface CdcStreamRecord {
  id: string;
  source_client_name: string;
  slot_name: string;
  publication_name: string;
  plugin: string;
  status: string;
  confirmed_lsn: string | null;
  last_error: string | null;
  last_error_at: Date | null;
  last_message_at: Date | null;
  last_commit_at: Date | null;
  lag_ms: number | null;
  retained_wal_bytes: number | null;
  changes_applied: number;
  leader_instance: string | null;
  leader_heartbeat_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The bigint columns: pg returns them as text; their values stay far below 2^53. */
type StreamRow = Omit<CdcStreamRecord, "lag_ms" | "retained_wal_bytes" | "changes_applied"> & {
  lag_ms: string | null;
  retained_wal_bytes: string | null;
  changes_applied: string;
};

function toRecord(r: StreamRow): CdcStreamRecord {
  const n = (v: string | null) => (v === null ? null : Number(v));
  return {
    ...r,
    lag_ms: n(r.lag_ms),
    retained_wal_bytes: n(r.retained_wal_bytes),
    changes_applied: Number(r.changes_applied),
  };
}

/** The streams inside the scope, by source client. */
export async function selectCdcStreams(db: Db, scope: ClientScope): Promise<CdcStreamRecord[]> {
  const r = await db.query<StreamRow>(
    `select * from typesense_cdc_streams where ${clientInScope("source_client_name", 1)}
      order by source_client_name`,
    [scope],
  );
  return r.rows.map(toRecord);
}

/** The stream of one source client inside the scope, or null. */
export async function selectCdcStream(
  db: Db,
  clientName: string,
  scope: ClientScope,
): Promise<CdcStreamRecord | null> {
  const r = await db.query<StreamRow>(
    `select * from typesense_cdc_streams
      where source_client_name = $1 and ${clientInScope("source_client_name", 2)}`,
    [clientName, scope],
  );
  return r.rows[0] ? toRecord(r.rows[0]) : null;
}

/** What readiness judges a client's stream by; the stream columns are null when it has no row. */
export interface StreamHealthRow {
  client: string;
  status: string | null;
  /** The stream confirmed an LSN at least once. */
  attached_once: boolean;
  status_age_ms: number | null;
  heartbeat_age_ms: number | null;
}

/**
 * One row per client among `clients` that has an enabled, cdc_enabled job,
 * with its stream's state if it has one, by client. Ages are measured by the
 * control database's clock (now()), as the leader's heartbeat is written.
 */
export async function selectStreamHealth(
  db: Db,
  clients: readonly string[],
): Promise<StreamHealthRow[]> {
  const r = await db.query<StreamHealthRow>(
    `select c.client, s.status, s.confirmed_lsn is not null as attached_once,
            (extract(epoch from now() - s.status_changed_at) * 1000)::float8 as status_age_ms,
            (extract(epoch from now() - s.leader_heartbeat_at) * 1000)::float8 as heartbeat_age_ms
       from (select distinct source_client_name as client from typesense_sync_jobs
              where enabled and cdc_enabled and source_client_name = any($1::text[])) c
       left join typesense_cdc_streams s on s.source_client_name = c.client
      order by c.client`,
    [[...clients]],
  );
  return r.rows;
}
