import { type Pgoutput, PgoutputPlugin } from "pg-logical-replication";
import type { ChangeEvent, RelationInfo, TextTuple } from "./events.js";
import { type Lsn, parseLsn } from "./lsn.js";
import { type PlainRowMessage, parseRowMessage, type RelationCache } from "./pgoutput-rows.js";

/** What a plugin's parse() returns when the bytes could not be decoded. */
export interface ParseFailure {
  tag: "__parse_error";
  error: Error;
}

export function isParseFailure(m: unknown): m is ParseFailure {
  return typeof m === "object" && m !== null && (m as { tag?: unknown }).tag === "__parse_error";
}

/** Identity parser: a column's value stays the text the server sent. */
const rawText = (text: string): string => text;

/**
 * pgoutput through pg-logical-replication, with two changes:
 *
 * 1. RAW TEXT VALUES. The library parses each column with pg's GLOBAL type
 *    parsers (int8 -> string, timestamptz -> Date, json -> object ...), which
 *    loses the exact text rowToDocument needs. Its parser stores each column's
 *    `parser` on the cached relation message, and every later tuple of that
 *    relation is read through it; we replace those functions with the identity
 *    right after a relation message is parsed (parse() is synchronous and runs
 *    in stream order, so no tuple of the relation is read before the patch).
 *    pg's global parsers are left alone: the rest of the process uses them.
 *
 * 2. ROW MESSAGES READ FAST (pgoutput-rows.ts): inserts, updates and deletes
 *    go straight from the buffer into plain text tuples; the library parses
 *    everything else (and keeps its relation cache: relation messages still
 *    pass through it, we keep our own copy for the fast path).
 *
 * 3. NO THROW IN THE SOCKET CALLBACK. The library calls parse() inside pg's
 *    'copyData' handler; an exception there would be uncaught. We return a
 *    ParseFailure instead and the ReplicationSource turns it into a reconnect.
 */
export class RawPgoutputPlugin extends PgoutputPlugin {
  readonly #relations: RelationCache = new Map();

  override parse(buffer: Buffer): Pgoutput.Message {
    try {
      const fast = parseRowMessage(buffer, this.#relations);
      // (the library's declared return type is its message union)
      if (fast) return fast as unknown as Pgoutput.Message;
      const msg = super.parse(buffer);
      if (msg.tag === "relation") {
        for (const c of msg.columns) c.parser = rawText;
        this.#relations.set(msg.relationOid, msg);
      }
      return msg;
    } catch (e) {
      const failure: ParseFailure = {
        tag: "__parse_error",
        error: e instanceof Error ? e : new Error(String(e)),
      };
      // The library's declared return type is the message union; the failure
      // marker is checked with isParseFailure before anything else reads it.
      return failure as unknown as Pgoutput.Message;
    }
  }
}

function relationInfo(r: Pgoutput.MessageRelation): RelationInfo {
  return {
    oid: r.relationOid >>> 0,
    schema: r.schema,
    table: r.name,
    replicaIdentity: r.replicaIdentity,
    columns: r.columns.map((c) => c.name),
    keyColumns: [...r.keyColumns],
  };
}

/** Relation infos are cached per relation message object (one per relation version). */
const infoCache = new WeakMap<Pgoutput.MessageRelation, RelationInfo>();
function cachedRelation(r: Pgoutput.MessageRelation): RelationInfo {
  let info = infoCache.get(r);
  if (!info) {
    info = relationInfo(r);
    infoCache.set(r, info);
  }
  return info;
}

/**
 * Copies a library tuple into a plain TextTuple. Values are strings (raw
 * text), null, or undefined (unchanged TOAST). The library builds tuples with
 * Object.create(null); we copy so nothing downstream meets a prototype-less object.
 */
function tuple(t: Record<string, unknown> | null, plain?: boolean): TextTuple | null {
  if (!t) return null;
  if (plain) return t as TextTuple; // pgoutput-rows.ts built it: plain object, text values
  const out: TextTuple = {};
  for (const k of Object.keys(t)) {
    const v = t[k];
    out[k] = typeof v === "string" || v === null || v === undefined ? v : String(v);
  }
  return out;
}

const NONE: readonly string[] = Object.freeze([]);

/** Columns the update did not send (unchanged TOAST); a shared empty list in the usual case. */
function unchangedColumns(rel: RelationInfo, t: TextTuple): readonly string[] {
  for (const c of rel.columns) {
    if (t[c] === undefined) return rel.columns.filter((x) => t[x] === undefined);
  }
  return NONE;
}

/** µs since the Unix epoch (bigint, as the library returns it) -> ms. */
function timeMs(us: unknown): number {
  return typeof us === "bigint" ? Number(us / 1000n) : Number.NaN;
}

/**
 * Library message -> internal event. `wireLsn` is the LSN in the XLogData
 * header (for a commit: the end of its commit record). Returns null for
 * messages the applier does not need (type, origin).
 */
export function decodePgoutput(
  m: Pgoutput.Message | PlainRowMessage,
  wireLsn: Lsn,
): ChangeEvent | null {
  const plain = "plain" in m;
  const msg = m as Pgoutput.Message;
  switch (msg.tag) {
    case "begin":
      return {
        kind: "begin",
        xid: msg.xid >>> 0,
        commitLsn: parseLsn(msg.commitLsn),
        commitTimeMs: timeMs(msg.commitTime),
      };
    case "commit":
      return {
        kind: "commit",
        commitLsn: parseLsn(msg.commitLsn),
        endLsn: msg.commitEndLsn ? parseLsn(msg.commitEndLsn) : wireLsn,
        commitTimeMs: timeMs(msg.commitTime),
      };
    case "relation":
      return { kind: "relation", relation: cachedRelation(msg) };
    case "insert":
      return {
        kind: "insert",
        lsn: wireLsn,
        relation: cachedRelation(msg.relation),
        new: tuple(msg.new, plain) ?? {},
      };
    case "update": {
      const relation = cachedRelation(msg.relation);
      const n = tuple(msg.new, plain) ?? {};
      return {
        kind: "update",
        lsn: wireLsn,
        relation,
        key: tuple(msg.key, plain),
        old: tuple(msg.old, plain),
        new: n,
        unchangedToast: unchangedColumns(relation, n),
      };
    }
    case "delete":
      return {
        kind: "delete",
        lsn: wireLsn,
        relation: cachedRelation(msg.relation),
        key: tuple(msg.key, plain),
        old: tuple(msg.old, plain),
      };
    case "truncate":
      return {
        kind: "truncate",
        lsn: wireLsn,
        // a relation the parser never saw would be undefined; the server always
        // sends the relation message first, so this only drops impossible holes
        relations: msg.relations.filter(Boolean).map(cachedRelation),
        cascade: msg.cascade,
        restartIdentity: msg.restartIdentity,
      };
    case "message":
      return {
        kind: "message",
        lsn: msg.messageLsn ? parseLsn(msg.messageLsn) : wireLsn,
        transactional: msg.transactional,
        prefix: msg.prefix,
        content: Buffer.from(msg.content).toString("utf8"),
      };
    default:
      return null;
  }
}
