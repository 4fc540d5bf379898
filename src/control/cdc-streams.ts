import type pg from "pg";
import { type ClientScope, clientInScope } from "./client-scope.js";
import { NotFoundError } from "./errors.js";
import { withNumbers } from "./rows.js";

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

const NUMS = ["lag_ms", "retained_wal_bytes", "changes_applied"];

/** Read-only: the CDC streams write these rows; the API only reports them. */
export async function listCdcStreams(
  pool: pg.Pool,
  scope: ClientScope,
): Promise<CdcStreamRecord[]> {
  const r = await pool.query<CdcStreamRecord>(
    `select * from typesense_cdc_streams where ${clientInScope("source_client_name", 1)}
      order by source_client_name`,
    [scope],
  );
  return r.rows.map((x) => withNumbers(x, NUMS));
}

export async function getCdcStream(
  pool: pg.Pool,
  clientName: string,
  scope: ClientScope,
): Promise<CdcStreamRecord> {
  const r = await pool.query<CdcStreamRecord>(
    `select * from typesense_cdc_streams
      where source_client_name = $1 and ${clientInScope("source_client_name", 2)}`,
    [clientName, scope],
  );
  const row = r.rows[0];
  if (!row) throw new NotFoundError(`no CDC stream for source client "${clientName}"`);
  return withNumbers(row, NUMS);
}
