import { Wal2JsonPlugin, type Wal2JsonPluginOptions } from "pg-logical-replication";
import type { ChangeEvent, RelationInfo, TextTuple } from "./events.js";
import { type Lsn, parseLsn } from "./lsn.js";
import type { ParseFailure } from "./pgoutput-decoder.js";

/**
 * wal2json, format version 2: one JSON object per row change, plus "B"/"C"
 * records around each transaction and "M" for logical messages.
 *
 * Options we always send (see wal2jsonOptions):
 * - format-version 2: one object per change (v1 builds one JSON document per
 *   transaction, unbounded in size);
 * - NOT numeric-data-types-as-string: wal2json 2.5 (Debian bookworm's
 *   postgresql-15-wal2json) rejects it as unknown. Numeric columns arrive as
 *   bare JSON numbers (their output text); the parser quotes every bare
 *   number after `"value":` before JSON.parse (quoteBareValues), so int8 and
 *   numeric keep every digit and the value is the output text, as pgoutput
 *   sends it. (NaN/Infinity arrive as null: wal2json has no JSON for them.)
 * - include-xids / include-timestamp / include-lsn: begin/commit metadata;
 * - include-pk: the key column names;
 * - include-types off: we map from the catalog, not from wal2json's type names;
 * - include-type-oids: to undo wal2json's one lossy value rewrite (bytea's
 *   leading "\x" is stripped);
 * - add-tables: only the bound tables (wal2json ignores publications).
 *
 * Value mapping back to output text: JSON null -> null; JSON true/false ->
 * "t"/"f" (boolout's text); bytea gets its "\x" back; strings as they are. A column missing from
 * "columns" is an unchanged TOAST value wal2json left out -> undefined.
 */
export interface Wal2JsonV2Column {
  name: string;
  type?: string;
  typeoid?: number;
  value: string | number | boolean | null;
}

export interface Wal2JsonV2Record {
  action: "B" | "C" | "I" | "U" | "D" | "T" | "M";
  xid?: number;
  timestamp?: string;
  lsn?: string;
  nextlsn?: string;
  schema?: string;
  table?: string;
  columns?: Wal2JsonV2Column[];
  identity?: Wal2JsonV2Column[];
  pk?: { name: string; type?: string }[];
  transactional?: boolean;
  prefix?: string;
  content?: string;
}

export function wal2jsonOptions(opts: {
  tables: readonly { schema: string; table: string }[];
  messagePrefixes: readonly string[];
}): Wal2JsonPluginOptions {
  // wal2json's table list syntax: schema.table, with space ' , . * and \ escaped.
  const esc = (s: string) => s.replace(/([\\ ',.*])/g, "\\$1");
  const options: Wal2JsonPluginOptions = {
    formatVersion: "2",
    includeXids: true,
    includeTimestamp: true,
    includeLsn: true,
    includePk: true,
    includeTypes: false,
    includeTypeOids: true,
    includeTransaction: true,
  };
  if (opts.tables.length > 0) {
    options.addTables = opts.tables.map((t) => `${esc(t.schema)}.${esc(t.table)}`).join(",");
  }
  if (opts.messagePrefixes.length > 0) {
    options.addMsgPrefixes = opts.messagePrefixes.map(esc).join(",");
  }
  return options;
}

/**
 * `"value":123.5` -> `"value":"123.5"`: keeps a numeric column's exact output
 * text through JSON.parse. Safe on any wal2json v2 record: inside a JSON string
 * a quote is escaped (`\"value\":1`), so the pattern only matches the key of
 * a column object.
 */
export function quoteBareValues(json: string): string {
  return json.includes('"value":')
    ? json.replace(/"value":(-?[0-9][0-9.eE+-]*)/g, '"value":"$1"')
    : json;
}

/** wal2json through the library, with JSON errors returned instead of thrown in the socket callback. */
export class SafeWal2JsonPlugin extends Wal2JsonPlugin {
  override parse(buffer: Buffer): Wal2JsonV2Record | ParseFailure {
    try {
      return JSON.parse(quoteBareValues(buffer.toString("utf8"))) as Wal2JsonV2Record;
    } catch (e) {
      return { tag: "__parse_error", error: e instanceof Error ? e : new Error(String(e)) };
    }
  }
}

const BYTEA_OID = 17;

function valueText(v: Wal2JsonV2Column["value"], typeoid: number | undefined): string | null {
  if (v === null) return null;
  // wal2json writes bytea's output text without its "\x" prefix
  if (typeoid === BYTEA_OID && typeof v === "string") return `\\x${v}`;
  if (v === true) return "t";
  if (v === false) return "f";
  // quoteBareValues turned numbers into their text; a number here comes from
  // elsewhere (tests): String() is then the best we can do.
  return typeof v === "number" ? String(v) : v;
}

function columnsTuple(cols: readonly Wal2JsonV2Column[] | undefined): TextTuple | null {
  if (!cols) return null;
  const t: TextTuple = {};
  for (const c of cols) t[c.name] = valueText(c.value, c.typeoid);
  return t;
}

/**
 * "2024-05-01 10:11:12.123456+00" (timestamptz_to_str, ISO DateStyle) -> ms.
 * NaN when absent or unreadable: lag is then unknown, nothing else depends on it.
 */
export function wal2jsonTimeMs(ts: string | undefined): number {
  if (!ts) return Number.NaN;
  const m =
    /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(
      ts.trim(),
    );
  if (!m) return Number.NaN;
  const frac = m[3] ? m[3].slice(0, 4).padEnd(4, "0") : ".000";
  const iso = `${m[1]}T${m[2]}${frac}${m[4]}:${m[5] ?? "00"}`;
  return Date.parse(iso);
}

/**
 * Turns wal2json v2 records into the same internal events pgoutput yields.
 * Stateless except for a relation cache (so equal tables share one object).
 */
export class Wal2JsonDecoder {
  readonly #relations = new Map<string, RelationInfo>();

  #relation(rec: Wal2JsonV2Record): RelationInfo {
    const schema = rec.schema ?? "public";
    const table = rec.table ?? "";
    const keyColumns = rec.pk?.map((p) => p.name) ?? rec.identity?.map((c) => c.name) ?? [];
    const k = JSON.stringify([schema, table, keyColumns]);
    let r = this.#relations.get(k);
    if (!r) {
      // wal2json does not describe relations: the column list is unknown here
      // (the applier takes columns from the catalog), identity kind too.
      r = { oid: 0, schema, table, replicaIdentity: "unknown", columns: [], keyColumns };
      this.#relations.set(k, r);
    }
    return r;
  }

  /** `wireLsn`: LSN of the XLogData header (commit: end of the commit record). */
  decode(rec: Wal2JsonV2Record, wireLsn: Lsn): ChangeEvent | null {
    switch (rec.action) {
      case "B":
        return {
          kind: "begin",
          xid: rec.xid ?? 0,
          commitLsn: rec.lsn ? parseLsn(rec.lsn) : 0n,
          commitTimeMs: wal2jsonTimeMs(rec.timestamp),
        };
      case "C":
        return {
          kind: "commit",
          commitLsn: rec.lsn ? parseLsn(rec.lsn) : 0n,
          endLsn: rec.nextlsn ? parseLsn(rec.nextlsn) : wireLsn,
          commitTimeMs: wal2jsonTimeMs(rec.timestamp),
        };
      case "I":
        return {
          kind: "insert",
          lsn: rec.lsn ? parseLsn(rec.lsn) : wireLsn,
          relation: this.#relation(rec),
          new: columnsTuple(rec.columns) ?? {},
        };
      case "U":
        return {
          kind: "update",
          lsn: rec.lsn ? parseLsn(rec.lsn) : wireLsn,
          relation: this.#relation(rec),
          key: columnsTuple(rec.identity),
          old: null,
          new: columnsTuple(rec.columns) ?? {},
          // wal2json omits unchanged TOAST columns; the applier finds them as
          // catalog columns missing from `new`.
          unchangedToast: [],
        };
      case "D":
        return {
          kind: "delete",
          lsn: rec.lsn ? parseLsn(rec.lsn) : wireLsn,
          relation: this.#relation(rec),
          key: columnsTuple(rec.identity),
          old: null,
        };
      case "T":
        return {
          kind: "truncate",
          lsn: rec.lsn ? parseLsn(rec.lsn) : wireLsn,
          relations: [this.#relation(rec)],
          cascade: false,
          restartIdentity: false,
        };
      case "M":
        return {
          kind: "message",
          lsn: rec.lsn ? parseLsn(rec.lsn) : wireLsn,
          transactional: rec.transactional === true,
          prefix: rec.prefix ?? "",
          content: rec.content ?? "",
        };
      default:
        return null;
    }
  }
}
