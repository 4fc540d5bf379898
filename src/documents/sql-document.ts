import type { ColumnInfo } from "../catalog/describe-table.js";
import { sqlStringLiteral } from "../db/sql-text.js";
import type { ColumnMapping } from "./map-column.js";

/**
 * Postgres renders the whole document (full sync's fast path).
 *
 * For a mapper whose every column has an SQL rendering that yields, once
 * parsed with the project's exact JSON parser (parseJson), the same value as
 * rowToDocument's conversion of the column's output text, the window read asks
 * Postgres for the document JSON text itself and the sidecar forwards those
 * bytes into the import body: no parse, no stringify in JS. A mapper with any
 * column that has no such rendering gets `expression: null` and the whole job
 * keeps the JS path (chosen once per mapper, never per row).
 *
 * Each rendering below is a text expression that is the JSON value, or NULL
 * where rowToDocument omits the field (NULL, or a value it reports as
 * unrepresentable). The document is `{"id":..., "<col>":<value>, ...}` with
 * NULL members left out (`coalesce(',"k":' || v, '')`), like rowToDocument.
 * test/catalog/sql-document.pg.test.ts is the oracle: every renderable type of
 * the every-type table and its edge values, SQL text parsed == rowToDocument.
 *
 * Needs PostgreSQL >= 14 (extract(epoch) returns numeric) and
 * extra_float_digits >= 1 (float8out is shortest-exact, as JS parses it);
 * the window reader checks both once before using it.
 */
export type SqlDocument = { expression: string } | { expression: null; reason: string };

/** Why a value renderer exists: the JS conversion it mirrors (map-column.ts / values.ts). */
type Render = (col: ColumnInfo, txt: string, val: string) => string | null;

// 2^1024 - 2^970: decimal values at or above it round to Infinity as a double
// (JS Number() and glibc strtod alike), so rowToDocument omits them
// (parseFloatValue: "outside the float range") and float8in would raise.
const FLOAT_OVERFLOW = (2n ** 1024n - 2n ** 970n).toString();

const SCALAR: Partial<Record<ColumnInfo["kind"], Render>> = {
  // int2/int4/int8 output text is a JSON integer token; parseJson keeps int8
  // beyond 2^53 as bigint exactly like parseInt64.
  int32: (_c, txt) => txt,
  int64: (_c, txt) => txt,
  // float4/float8 output text is a JSON number (e.g. "1.5", "-0", "1e+300")
  // except NaN/+-Infinity, which parseFloatValue reports (omitted). Same text
  // on both paths, so the same double.
  float: (_c, txt) =>
    `case when ${txt} in ('NaN', 'Infinity', '-Infinity') then null else ${txt} end`,
  // numeric: Number(text) in JS. numeric_out is plain decimal (never an
  // exponent). With a fraction or below 1e15 the text itself is a JSON number
  // that parses to Number(text). Integers >= 1e15 would parse as bigint, so
  // they go through float8 (numeric -> float8 is strtod of the same text:
  // correctly rounded, like Number), NaN/+-Infinity/overflow are omitted.
  // A numeric(p,s) column with p - s <= 15 holds |x| < 1e15 and no infinity
  // (Postgres refuses it with a typmod): only NaN needs the check.
  numeric: (c, _txt, val) =>
    boundedNumeric(c)
      ? `case when ${val} = 'NaN'::pg_catalog.numeric then null else (${val})::text end`
      : `case when abs(${val}) >= ${FLOAT_OVERFLOW} then null` +
        ` when scale(${val}) = 0 and abs(${val}) >= 1000000000000000 then ((${val})::pg_catalog.float8)::text` +
        ` else (${val})::text end`,
  // boolout writes t/f, which parseBool maps to true/false: compared as a bool
  // (no output text). NULL matches no branch and stays NULL (omitted).
  bool: (_c, _txt, val) => `case ${val} when true then 'true' when false then 'false' end`,
  // Strings are the output text unchanged (char(n) padding, citext case, enum
  // label). text/varchar: their output text is the value itself, so to_json of
  // the value (cast to text, a no-op relabel) skips the textin(textout()) copy.
  string: (c, txt, val) =>
    TEXT_BASES.has(c.baseTypeName)
      ? `pg_catalog.to_json((${val})::pg_catalog.text)::text`
      : c.baseTypeName === "uuid"
        ? `'"' || (${val})::text || '"'` // hex digits and dashes: nothing to escape
        : `pg_catalog.to_json(${txt})::text`,
  enum: (_c, txt) => `pg_catalog.to_json(${txt})::text`,
  other: (_c, txt) => `pg_catalog.to_json(${txt})::text`,
  // parseInstantMs: the instant's whole seconds (offset applied; timestamp and
  // date taken as UTC) * 1000 + floor(microseconds / 1000), i.e.
  // floor(epoch * 1000); +-infinity and |whole seconds| > 8.64e12 (outside
  // JS Date) are omitted.
  date: epochMs,
  timestamp: epochMs,
  timestamptz: epochMs,
};

function epochMs(c: ColumnInfo, _txt: string, val: string): string {
  // The bounds compare the value itself (an integer compare), so the numeric
  // extract runs once: a whole-seconds epoch above 8.64e12 is 275760-09-13
  // 00:00:01 UTC and later (for a date: the days after 275760-09-13, whose
  // epoch is days * 86400), +infinity included; the smallest timestamp Postgres
  // stores (4713 BC) is far above -8.64e12 s, so below only -infinity is out.
  // The literals carry their offset (+00), so the session time zone cannot move them.
  const t = `pg_catalog.${c.baseTypeName}`;
  const tooLate =
    c.baseTypeName === "date"
      ? `${val} > '275760-09-13'::${t}`
      : `${val} >= '275760-09-13 00:00:01${c.baseTypeName === "timestamptz" ? "+00" : ""}'::${t}`;
  return (
    `case when ${tooLate} or ${val} = '-infinity'::${t} then null` +
    ` else floor(extract(epoch from ${val}) * 1000)::text end`
  );
}

/** Base types whose output text is the stored text itself. */
const TEXT_BASES = new Set(["text", "varchar"]);

/** numeric(p,s) with at most 15 integer digits (p - s <= 15; s may be negative). */
function boundedNumeric(c: ColumnInfo): boolean {
  const m = /^numeric\((\d+)(?:,(-?\d+))?\)$/.exec(c.typeName);
  return m !== null && Number(m[1]) - Number(m[2] ?? 0) <= 15;
}

/** Element kinds whose renderer works on an unnested element (see arrayRender). */
const ELEMENT_KINDS = new Set<ColumnInfo["kind"]>([
  "int32",
  "int64",
  "float",
  "numeric",
  "bool",
  "string",
  "enum",
  "date",
  "timestamp",
  "timestamptz",
]);

/**
 * Arrays: rowToDocument drops NULL and unrepresentable elements, flattens
 * multi-dimensional arrays in row-major order, and keeps [] for an empty
 * array. 1-D arrays of strings/enums/ints: array_to_json(array_remove(a,
 * NULL)) (element output text, strings JSON-escaped). Otherwise: every
 * element rendered like a scalar, NULLs dropped, in unnest order (row-major).
 */
function arrayRender(col: ColumnInfo, sqlCol: string): string | null {
  const kind = col.kind;
  if (!ELEMENT_KINDS.has(kind)) return null;
  const base = `pg_catalog.${col.baseTypeName}`;
  // bpchar::text would strip the padding: strings go through to_json(element),
  // which uses the element's output function (as the array text does).
  const element =
    kind === "string" || kind === "enum"
      ? "pg_catalog.to_json(e)::text"
      : SCALAR[kind]!(col, "(e)::text", `(e)::${base}`);
  // unnest(NULL) has no rows: the NULL check keeps a NULL array omitted, not []
  const generic =
    `case when ${sqlCol} is null then null else (select '[' || coalesce(pg_catalog.string_agg(x, ',' order by o), '') || ']'` +
    ` from (select ${element} as x, o from pg_catalog.unnest(${sqlCol}) with ordinality u(e, o)) s` +
    ` where x is not null) end`;
  if (kind === "string" || kind === "enum" || kind === "int32" || kind === "int64") {
    return (
      `case when pg_catalog.array_ndims(${sqlCol}) > 1 then ${generic}` +
      ` else pg_catalog.array_to_json(pg_catalog.array_remove(${sqlCol}, null))::text end`
    );
  }
  return generic;
}

/**
 * The id member's value: the id column's output text as a JSON string. Integer
 * texts need no escaping; any other id renders like a string column (whose
 * text/varchar and uuid cases skip the textin(textout()) copy).
 */
export function renderIdSql(col: ColumnInfo, sqlCol: string): string {
  return idRender(col, sqlCol, outputText(col, sqlCol));
}

/** The column value's output text (what pgoutput sends and rowToDocument converts). */
export function outputText(col: ColumnInfo, sqlRef: string): string {
  return `pg_catalog.textin(${col.outputFunction}(${sqlRef}))`;
}

/**
 * One value's JSON text as rowToDocument renders the column `col` (mapColumn,
 * default options: json as object is NOT proven here, see below), or NULL
 * where rowToDocument omits the field; null when the type has no proven SQL
 * rendering. `sqlRef` is any SQL expression of the value (a qualified column
 * `r."price"`, or an expression's result column) whose type is `col`'s type.
 * renderDocumentSql and the document spec's renderer (spec/render.ts) both
 * call this, so a column renders the same bytes on both.
 */
export function renderValueSql(
  col: ColumnInfo,
  sqlRef: string,
  opts: { json?: "object" | "string" } = {},
): string | null {
  const txt = outputText(col, sqlRef);
  if (col.kind === "json") {
    // object mode: not proven (a number beyond the double range inside the
    // json renders differently once rowToDocument re-serializes it)
    return opts.json === "string" ? SCALAR.string!(col, txt, "") : null;
  }
  if (col.isArray) return arrayRender(col, sqlRef);
  const r = SCALAR[col.kind];
  return r ? r(col, txt, `(${sqlRef})::pg_catalog.${col.baseTypeName}`) : null;
}

function idRender(col: ColumnInfo, sqlCol: string, txt: string): string {
  if (col.isArray) return `pg_catalog.to_json(${txt})::text`;
  const val = `(${sqlCol})::pg_catalog.${col.baseTypeName}`;
  if (col.kind === "int32" || col.kind === "int64") return `'"' || (${val})::text || '"'`;
  return SCALAR.string!(col, txt, val)!;
}

/** SQL text literal (either standard_conforming_strings setting): db/sql-text.ts. */
export { sqlStringLiteral };

export function renderDocumentSql(
  idColumn: ColumnInfo,
  mappings: readonly ColumnMapping[],
  opts: { quote: (name: string) => string; hasDropListener: boolean },
): SqlDocument {
  if (opts.hasDropListener) {
    return { expression: null, reason: "dropped values are reported (onDroppedValue)" };
  }
  const text = (c: ColumnInfo) => `pg_catalog.textin(${c.outputFunction}(${opts.quote(c.name)}))`;
  const parts = [`'{"id":' || ${idRender(idColumn, opts.quote(idColumn.name), text(idColumn))}`];
  for (const m of mappings) {
    const col = m.column;
    if (m.isoField) return { expression: null, reason: `${col.name}: _iso field` };
    const v = renderValueSql(col, opts.quote(col.name), {
      json: m.field.type === "string" ? "string" : "object",
    });
    if (v === null) {
      return { expression: null, reason: `${col.name} (${col.typeName}) has no SQL rendering` };
    }
    const key = sqlStringLiteral(`,${JSON.stringify(m.field.name)}:`);
    parts.push(`coalesce(${key} || (${v}), '')`);
  }
  parts.push(`'}'`);
  return { expression: parts.join("\n || ") };
}
