import type pg from "pg";

/*
 * The stream's control-data statements live in db/repositories/
 * (cdc-checkpoint.ts: the checkpoint; cdc-streams.ts: the stream row;
 * cdc-jobs.ts: membership, parking, probes); cdc/ imports them from here.
 */
export {
  type Checkpoint,
  persistCheckpoint,
  type Rejection,
} from "../db/repositories/cdc-checkpoint.js";
export { markStreamJobs, parkJob, recordProbe } from "../db/repositories/cdc-jobs.js";
export {
  recordStreamError,
  type StreamRowUpdate,
  type StreamStatus,
  updateStreamRow,
} from "../db/repositories/cdc-streams.js";

/** Bytes of WAL the slot holds back (restart_lsn to the current WAL end). */
export async function retainedWalBytes(source: pg.Pool, slotName: string): Promise<number | null> {
  const r = await source.query<{ b: string | null }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text as b
       from pg_replication_slots where slot_name = $1`,
    [slotName],
  );
  const b = r.rows[0]?.b;
  return b === null || b === undefined ? null : Number(b);
}
