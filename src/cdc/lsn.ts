/**
 * LSN helpers for cdc/: they live in db/lsn.ts (Postgres' pg_lsn as bigint),
 * where the control-data repositories that persist LSNs can import them too.
 */
export { formatLsn, type Lsn, maxLsn, parseLsn, ZERO_LSN } from "../db/lsn.js";
