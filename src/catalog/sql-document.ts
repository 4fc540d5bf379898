import type { ColumnInfo } from "./describe-table.js";
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
  numeric: (_c, _txt, val) =>
    `case when abs(${val}) >= ${FLOAT_OVERFLOW} then null` +
    ` when scale(${val}) = 0 and abs(${val}) >= 1000000000000000 then ((${val})::pg_catalog.float8)::text` +
    ` else (${val})::text end`,
  // boolout writes t/f (an element's bool::text true/false); parseBool accepts these four.
  bool: (_c, txt) =>
    `case ${txt} when 't' then 'true' when 'true' then 'true' when 'f' then 'false' when 'false' then 'false' end`,
  // Strings are the output text unchanged (char(n) padding, citext case, enum label).
  string: (_c, txt) => `pg_catalog.to_json(${txt})::text`,
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

function epochMs(_c: ColumnInfo, _txt: string, val: string): string {
  const e = `extract(epoch from ${val})`;
  return (
    `case when not pg_catalog.isfinite(${val}) then null` +
    ` when abs(floor(${e})) > 8640000000000 then null` +
    ` else floor(${e} * 1000)::text end`
  );
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

/** SQL text literal that survives either standard_conforming_strings setting. */
export function sqlStringLiteral(text: string): string {
  return `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

export function renderDocumentSql(
  idColumn: ColumnInfo,
  mappings: readonly ColumnMapping[],
  opts: { quote: (name: string) => string; hasDropListener: boolean },
): SqlDocument {
  if (opts.hasDropListener) {
    return { expression: null, reason: "dropped values are reported (onDroppedValue)" };
  }
  const text = (c: ColumnInfo) => `pg_catalog.textin(${c.outputFunction}(${opts.quote(c.name)}))`;
  const parts = [`'{"id":' || pg_catalog.to_json(${text(idColumn)})::text`];
  for (const m of mappings) {
    const col = m.column;
    if (m.isoField) return { expression: null, reason: `${col.name}: _iso field` };
    let v: string | null;
    if (col.kind === "json") {
      // object mode: not proven (a number beyond the double range inside the
      // json renders differently once rowToDocument re-serializes it)
      v = m.field.type === "string" ? SCALAR.string!(col, text(col), "") : null;
    } else if (col.isArray) {
      v = arrayRender(col, opts.quote(col.name));
    } else {
      const r = SCALAR[col.kind];
      v = r ? r(col, text(col), `(${opts.quote(col.name)})::pg_catalog.${col.baseTypeName}`) : null;
    }
    if (v === null) {
      return { expression: null, reason: `${col.name} (${col.typeName}) has no SQL rendering` };
    }
    const key = sqlStringLiteral(`,${JSON.stringify(m.field.name)}:`);
    parts.push(`coalesce(${key} || (${v}), '')`);
  }
  parts.push(`'}'`);
  return { expression: parts.join("\n || ") };
}
