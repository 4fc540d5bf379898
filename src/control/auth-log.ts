/**
 * The auth attempt log as the control layer sees it: its statements live in
 * db/repositories/auth-log.ts (issue 14 item 4); the buffered writer is
 * auth-log-writer.ts, the retention loop auth-log-retention.ts.
 */
export {
  type AuthLogEntry,
  type AuthLogFilter,
  type AuthLogRow,
  appendAuthLog,
  listAuthLog,
  pruneAuthLog,
  SPECIAL_KEY_IDS,
} from "../db/repositories/auth-log.js";
