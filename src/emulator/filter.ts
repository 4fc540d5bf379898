import { type Collection, readField, type StoredDoc } from "./collection.js";
import { ApiError } from "./errors.js";
import { type FilterNode, type FilterOp, PARSE_ERROR } from "./filter-parse.js";
import { isNumericType, isStringType } from "./schema.js";
import { tokenize } from "./text.js";

export { type FilterNode, type FilterOp, parseFilter } from "./filter-parse.js";

/**
 * filter_by evaluation (parsing is in filter-parse.ts). Works on bitmaps indexed by seq id, so
 * AND/OR/NOT are linear passes; string clauses use the field's inverted index, numeric and
 * bool clauses the field's column, instead of reading every document.
 */

type Bits = Uint8Array;

function universe(coll: Collection): Bits {
  const bits = new Uint8Array(coll.bySeq.length);
  for (const d of coll.docs.values()) bits[d.seq] = 1;
  return bits;
}

function complement(bits: Bits, coll: Collection): Bits {
  const all = universe(coll);
  for (let i = 0; i < all.length; i++) all[i] = all[i]! & (bits[i]! ^ 1);
  return all;
}

/** Evaluates a parsed filter; returns matching docs in ascending seq order. */
export function evaluateFilter(node: FilterNode, coll: Collection): StoredDoc[] {
  const bits = evalNode(node, coll);
  const out: StoredDoc[] = [];
  for (let i = 0; i < bits.length; i++) {
    if (bits[i] === 1) {
      const d = coll.bySeq[i];
      if (d) out.push(d);
    }
  }
  return out;
}

/** Bitmap of docs matching `node`, indexed by seq (1 = match). */
export function evalNode(node: FilterNode, coll: Collection): Bits {
  if (node.kind !== "clause") {
    const a = evalNode(node.left, coll);
    const b = evalNode(node.right, coll);
    if (node.kind === "and") for (let i = 0; i < a.length; i++) a[i] = a[i]! & b[i]!;
    else for (let i = 0; i < a.length; i++) a[i] = a[i]! | b[i]!;
    return a;
  }
  if (node.field === "id") return evalId(node, coll);
  const f = coll.field(node.field)!;
  if (isStringType(f.type)) return evalString(node, coll);
  return evalScan(node, coll, f.type);
}

function evalId(node: { op: FilterOp; values: string[] }, coll: Collection): Bits {
  const bits = new Uint8Array(coll.bySeq.length);
  for (const v of node.values) {
    const d = coll.docs.get(v);
    if (d) bits[d.seq] = 1;
  }
  if (node.op === "ne") return complement(bits, coll);
  if (node.op !== "match" && node.op !== "eq") throw new ApiError(400, PARSE_ERROR);
  return bits;
}

function evalString(node: { field: string; op: FilterOp; values: string[] }, coll: Collection) {
  const bits = new Uint8Array(coll.bySeq.length);
  const idx = coll.textIndexes.get(node.field);
  if (!idx) return bits;
  const nested = coll.schema.enable_nested_fields;
  const column = coll.values.get(node.field);
  const exact = node.op === "eq" || node.op === "ne";
  if (node.op !== "match" && !exact) throw new ApiError(400, PARSE_ERROR);
  for (const value of node.values) {
    const prefix = !exact && value.endsWith("*");
    const tokens = tokenize(prefix ? value.slice(0, -1) : value, coll.tokenizer);
    if (tokens.length === 0) continue;
    // Candidates: live docs holding every token (the last one as a prefix for `foo*`).
    const count = new Uint8Array(coll.bySeq.length);
    for (let t = 0; t < tokens.length; t++) {
      const tok = tokens[t]!;
      const words = prefix && t === tokens.length - 1 ? idx.withPrefix(tok) : [tok];
      const mark = t + 1;
      for (const w of words) {
        const list = idx.postings.get(w);
        if (!list) continue;
        // count[seq] === t means the doc had all previous tokens; it advances at most once
        // per token even when several prefix words hit it.
        for (let i = 0; i < list.length; i++) {
          const s = list[i]!;
          if (count[s] === t) count[s] = mark;
        }
      }
    }
    const cand: number[] = [];
    for (let s = 0; s < count.length; s++) {
      if (count[s] === tokens.length && coll.bySeq[s] !== undefined) cand.push(s);
    }
    const want = tokens.join(" ");
    for (const seq of cand) {
      if (!exact) {
        bits[seq] = 1;
        continue;
      }
      const d = coll.bySeq[seq];
      if (!d) continue;
      const v = column ? column[seq] : readField(d.doc, node.field, nested);
      const vals = Array.isArray(v) ? v : [v];
      for (const e of vals) {
        if (typeof e === "string" && tokenize(e, coll.tokenizer).join(" ") === want) {
          bits[seq] = 1;
          break;
        }
      }
    }
  }
  return node.op === "ne" ? complement(bits, coll) : bits;
}

/** A numeric interval; equality is [n, n]. Bools are 1/0. */
/**
 * Bounds are bigints only for int64 literals beyond 2^53, so such filters
 * compare exactly (JS relational operators compare bigint and number exactly).
 */
interface Interval {
  lo: number | bigint;
  hi: number | bigint;
  loInc: boolean;
  hiInc: boolean;
}

function inside(iv: Interval, x: number | bigint): boolean {
  return (iv.loInc ? x >= iv.lo : x > iv.lo) && (iv.hiInc ? x <= iv.hi : x < iv.hi);
}

function numberOf(field: string, type: string, raw: string): number | bigint {
  const t = type.replace("[]", "");
  if (t === "bool") {
    const l = raw.toLowerCase();
    if (l === "true") return 1;
    if (l === "false") return 0;
    throw new ApiError(400, `Error with filter field \`${field}\`: Not a bool.`);
  }
  const ok = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw.trim());
  const n = Number(raw);
  if (!ok || ((t === "int32" || t === "int64") && !Number.isInteger(n))) {
    const what = t === "float" ? "a float" : `an ${t}`;
    throw new ApiError(400, `Error with filter field \`${field}\`: Not ${what}.`);
  }
  if (
    !Number.isSafeInteger(n) &&
    (t === "int32" || t === "int64") &&
    /^[+-]?\d+$/.test(raw.trim())
  ) {
    return BigInt(raw.trim());
  }
  return n;
}

function elementPred(field: string, type: string, op: FilterOp, raw: string): Interval {
  const numeric = isNumericType(type);
  let o = op;
  let v = raw.trim();
  // Inside lists an element may carry its own comparator or be a range `a..b`.
  if (numeric && (o === "match" || o === "eq")) {
    const range = v.indexOf("..");
    if (range > 0) {
      const lo = numberOf(field, type, v.slice(0, range));
      const hi = numberOf(field, type, v.slice(range + 2));
      return { lo, hi, loInc: true, hiInc: true };
    }
    const m = /^(>=|<=|>|<|=)/.exec(v);
    if (m) {
      o = ({ ">=": "gte", "<=": "lte", ">": "gt", "<": "lt", "=": "eq" } as const)[
        m[1] as ">=" | "<=" | ">" | "<" | "="
      ];
      v = v.slice(m[1]!.length).trim();
    }
  }
  if (!numeric && type.replace("[]", "") !== "bool") throw new ApiError(400, PARSE_ERROR);
  const n = numberOf(field, type, v);
  const INF = Number.POSITIVE_INFINITY;
  switch (o) {
    case "gt":
      return { lo: n, hi: INF, loInc: false, hiInc: true };
    case "gte":
      return { lo: n, hi: INF, loInc: true, hiInc: true };
    case "lt":
      return { lo: -INF, hi: n, loInc: true, hiInc: false };
    case "lte":
      return { lo: -INF, hi: n, loInc: true, hiInc: true };
    default:
      return { lo: n, hi: n, loInc: true, hiInc: true };
  }
}

function evalScan(
  node: { field: string; op: FilterOp; values: string[] },
  coll: Collection,
  type: string,
) {
  const negate = node.op === "ne";
  const op: FilterOp = negate ? "eq" : node.op;
  const preds = node.values.map((v) => elementPred(node.field, type, op, v));
  const bits = new Uint8Array(coll.bySeq.length);
  const bySeq = coll.bySeq;
  const col = coll.columns.get(node.field);
  // A bigint bound needs the exact values of the documents, not the column's doubles.
  const exact = preds.some((p) => typeof p.lo === "bigint" || typeof p.hi === "bigint");
  if (col && !exact) {
    // Scalar fields: read the column instead of each document (missing = NaN = no match).
    const raw = col.raw;
    if (preds.length === 1) {
      // The common case, kept monomorphic: one interval, no per-doc closure call.
      const { loInc, hiInc } = preds[0]!;
      const lo = preds[0]!.lo as number;
      const hi = preds[0]!.hi as number;
      for (let seq = 0; seq < bySeq.length; seq++) {
        if (bySeq[seq] === undefined) continue;
        const v = raw[seq]!;
        // NaN (missing) fails every comparison, so it never matches.
        const hit = (loInc ? v >= lo : v > lo) && (hiInc ? v <= hi : v < hi);
        if (hit !== negate) bits[seq] = 1;
      }
      return bits;
    }
    for (let seq = 0; seq < bySeq.length; seq++) {
      if (bySeq[seq] === undefined) continue;
      const v = raw[seq]!;
      let hit = false;
      for (const p of preds) if (inside(p, v)) hit = true;
      if (hit !== negate) bits[seq] = 1;
    }
    return bits;
  }
  const nested = coll.schema.enable_nested_fields;
  for (const d of coll.docs.values()) {
    const v = readField(d.doc, node.field, nested);
    let hit = false;
    const num = (x: unknown) => (typeof x === "boolean" ? (x ? 1 : 0) : x);
    if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") {
      for (const p of preds) if (inside(p, num(v) as number | bigint)) hit = true;
    } else if (Array.isArray(v)) {
      for (const e of v) {
        if (typeof e !== "number" && typeof e !== "boolean" && typeof e !== "bigint") continue;
        for (const p of preds) if (inside(p, num(e) as number | bigint)) hit = true;
        if (hit) break;
      }
    }
    if (hit !== negate) bits[d.seq] = 1;
  }
  return bits;
}
