import type pg from "pg";
import { formatLsn, type Lsn } from "../lsn.js";
import type { Db } from "../transaction.js";
import { type ClientScope, clientInScope } from "./scope-sql.js";

/**
 * typesense_cdc_streams: the reads of the API and the readiness probe
 * (control/cdc-streams.ts, control/cdc-readiness.ts), in the API's snake_case
 * shape; below them the writes of the CDC stream itself (src/cdc: status,
 * errors, setup's upsert, the saved confirmed LSN).
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

/** typesense_cdc_streams.status */
export type StreamStatus = "starting" | "streaming" | "backoff" | "stopped" | "error" | "lost";

export interface StreamRowUpdate {
  status?: StreamStatus;
  /** Sets last_error/last_error_at; null clears nothing (errors stay visible until the next one). */
  error?: string;
  lagMs?: number | null;
  retainedWalBytes?: number | null;
  lastMessageAt?: Date | null;
  leaderInstance?: string | null;
}

/** Updates the observability fields of a stream row (and the leader heartbeat). */
export async function updateStreamRow(
  control: pg.Pool,
  clientName: string,
  u: StreamRowUpdate,
): Promise<void> {
  await control.query(
    `update typesense_cdc_streams
        set status = coalesce($2, status),
            status_changed_at = case when $2::text is distinct from status and $2::text is not null
                                     then now() else status_changed_at end,
            last_error = coalesce($3, last_error),
            last_error_at = case when $3::text is null then last_error_at else now() end,
            lag_ms = case when $4::boolean then $5::bigint else lag_ms end,
            retained_wal_bytes = case when $6::boolean then $7::bigint else retained_wal_bytes end,
            last_message_at = coalesce($8::timestamptz, last_message_at),
            leader_instance = coalesce($9, leader_instance),
            leader_heartbeat_at = case when $9::text is null then leader_heartbeat_at else now() end,
            updated_at = now()
      where source_client_name = $1`,
    [
      clientName,
      u.status ?? null,
      u.error ?? null,
      u.lagMs !== undefined,
      u.lagMs === undefined || u.lagMs === null ? null : Math.max(0, Math.round(u.lagMs)),
      u.retainedWalBytes !== undefined,
      u.retainedWalBytes ?? null,
      u.lastMessageAt ?? null,
      u.leaderInstance ?? null,
    ],
  );
}

/**
 * Records a failed session (status + last_error), creating the stream's row if
 * setup failed before it existed (e.g. no free replication slot): a setup error
 * must be visible in typesense_cdc_streams even for a stream that never started.
 */
export async function recordStreamError(
  control: pg.Pool,
  s: {
    clientName: string;
    slotName: string;
    plugin: string;
    status: StreamStatus;
    error: string;
  },
): Promise<void> {
  await control.query(
    `insert into typesense_cdc_streams
       (source_client_name, slot_name, publication_name, plugin, status, last_error, last_error_at)
     values ($1, $2, $2, $3, $4, $5, now())
     on conflict (source_client_name) do update
       set status = excluded.status, last_error = excluded.last_error,
           status_changed_at = case when excluded.status is distinct from typesense_cdc_streams.status
                                    then now() else typesense_cdc_streams.status_changed_at end,
           last_error_at = now(), updated_at = now()`,
    [s.clientName, s.slotName, s.plugin, s.status, s.error],
  );
}

/** What setup writes of a stream's row (cdc/setup.ts). */
export interface StreamRowSetup {
  clientName: string;
  slotName: string;
  publicationName: string;
  plugin: string;
}

/**
 * Creates or refreshes the stream's row; returns its saved confirmed_lsn
 * (text or null). A new slot resets confirmed_lsn to the slot's start: the
 * old position belongs to a slot that no longer exists.
 */
export async function upsertStreamRow(
  control: pg.Pool,
  s: StreamRowSetup,
  newSlotLsn: Lsn | null,
): Promise<string | null> {
  const r = await control.query<{ confirmed_lsn: string | null }>(
    `insert into typesense_cdc_streams
       (source_client_name, slot_name, publication_name, plugin, status, confirmed_lsn)
     values ($1, $2, $3, $4, 'starting', $5::pg_lsn)
     on conflict (source_client_name) do update
       set slot_name = excluded.slot_name, publication_name = excluded.publication_name,
           plugin = excluded.plugin, updated_at = now(),
           confirmed_lsn = coalesce($5::pg_lsn, typesense_cdc_streams.confirmed_lsn)
     returning confirmed_lsn::text`,
    [
      s.clientName,
      s.slotName,
      s.publicationName,
      s.plugin,
      newSlotLsn === null ? null : formatLsn(newSlotLsn),
    ],
  );
  return r.rows[0]?.confirmed_lsn ?? null;
}

/** The stream's saved confirmed_lsn (text), null without a row or position. */
export async function savedConfirmedLsn(
  control: pg.Pool,
  clientName: string,
): Promise<string | null> {
  const r = await control.query<{ confirmed_lsn: string | null }>(
    "select confirmed_lsn::text from typesense_cdc_streams where source_client_name = $1",
    [clientName],
  );
  return r.rows[0]?.confirmed_lsn ?? null;
}
