import type { Lsn } from "./lsn.js";

/**
 * The internal change events every decoder (pgoutput, wal2json) produces and
 * the applier consumes. Values are the column's OUTPUT TEXT, byte for byte
 * what `textout` gives and what full sync's selectList reads, so
 * `rowToDocument` builds the same document on both paths.
 *
 * In a tuple:
 *   string    -> the value's text
 *   null      -> SQL NULL
 *   undefined -> not known: an unchanged TOAST value that the server did not
 *                send (listed in `unchangedToast` as well)
 */
export type TextTuple = Record<string, string | null | undefined>;

export interface RelationInfo {
  /** pg_class oid when the decoder knows it (pgoutput), else 0. */
  oid: number;
  schema: string;
  table: string;
  replicaIdentity: "default" | "nothing" | "full" | "index" | "unknown";
  /** Column names in attnum order (as the decoder saw them; [] if unknown). */
  columns: string[];
  /** Replica identity columns ([] if unknown). */
  keyColumns: string[];
}

export interface BeginEvent {
  kind: "begin";
  xid: number;
  /** LSN of the commit record (the transaction's final LSN); 0 if unknown. */
  commitLsn: Lsn;
  /** Commit time, ms since the Unix epoch (NaN if the decoder was not told). */
  commitTimeMs: number;
}

export interface CommitEvent {
  kind: "commit";
  /** LSN of the commit record; 0 if unknown. */
  commitLsn: Lsn;
  /**
   * End of the commit record: acknowledging exactly this LSN tells the server
   * "everything up to and including this transaction is durable"; a resumed
   * stream re-sends every transaction whose commit record starts at or after it.
   */
  endLsn: Lsn;
  commitTimeMs: number;
}

export interface RelationEvent {
  kind: "relation";
  relation: RelationInfo;
}

export interface InsertEvent {
  kind: "insert";
  lsn: Lsn;
  relation: RelationInfo;
  new: TextTuple;
}

export interface UpdateEvent {
  kind: "update";
  lsn: Lsn;
  relation: RelationInfo;
  /**
   * Old replica-identity values: present when the key changed (DEFAULT/INDEX)
   * or always under FULL (then equal to the identity part of `old`); null otherwise.
   */
  key: TextTuple | null;
  /** The whole old row (REPLICA IDENTITY FULL only), else null. */
  old: TextTuple | null;
  new: TextTuple;
  /** Columns of `new` left undefined because their TOAST value did not change. */
  unchangedToast: readonly string[];
}

export interface DeleteEvent {
  kind: "delete";
  lsn: Lsn;
  relation: RelationInfo;
  /** Replica identity values (DEFAULT/INDEX), or null when `old` is given. */
  key: TextTuple | null;
  /** The whole old row (FULL), else null. */
  old: TextTuple | null;
}

export interface TruncateEvent {
  kind: "truncate";
  lsn: Lsn;
  relations: RelationInfo[];
  cascade: boolean;
  restartIdentity: boolean;
}

/** A logical decoding message (pg_logical_emit_message): heartbeats and watermarks. */
export interface MessageEvent {
  kind: "message";
  lsn: Lsn;
  transactional: boolean;
  prefix: string;
  content: string;
}

export type ChangeEvent =
  | BeginEvent
  | CommitEvent
  | RelationEvent
  | InsertEvent
  | UpdateEvent
  | DeleteEvent
  | TruncateEvent
  | MessageEvent;

/** Row-level events: the ones that carry a document. */
export type RowEvent = InsertEvent | UpdateEvent | DeleteEvent;

/** Key for per-table lookups: "schema"."table" without quoting ambiguity. */
export function tableKey(schema: string, table: string): string {
  return JSON.stringify([schema, table]);
}
