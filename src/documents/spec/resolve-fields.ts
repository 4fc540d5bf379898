import type { ColumnInfo, TableInfo } from "../../catalog/index.js";
import type { SpecField } from "../../db/repositories/document-spec.js";
import { quoteIdent } from "../../db/sql-text.js";
import type { CatalogSession } from "./catalog-session.js";
import {
  inferredField,
  overrideProblem,
  SORTABLE_TYPES,
  typesenseField,
  valueSql,
} from "./field-types.js";
import { sqlFragmentProblem } from "./sql-fragment.js";
import type { ResolvedField, SpecProblem } from "./types.js";

/** `"schema"."table"` for messages and SQL. */
export function tableSql(t: { schema: string; table: string }): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}

export function noColumn(column: string, t: { schema: string; table: string }): string {
  return `column "${column}" does not exist in ${tableSql(t)}`;
}

/**
 * Resolves one field list against the row it belongs to (root, lookup or child
 * table): each field's column or described expression, its type (inferred or
 * a checked override) and its options. Problems are pushed, never thrown; a
 * field with a problem is left out of the result.
 */
export async function resolveFields(
  s: CatalogSession,
  table: TableInfo,
  fields: readonly SpecField[],
  path: string,
  problems: SpecProblem[],
): Promise<ResolvedField[]> {
  const out: ResolvedField[] = [];
  for (const [i, f] of fields.entries()) {
    const at = `${path}[${i}]`;
    const r = await resolveField(s, table, f, at, problems);
    if (r) out.push(r);
  }
  return out;
}

async function resolveField(
  s: CatalogSession,
  table: TableInfo,
  f: SpecField,
  at: string,
  problems: SpecProblem[],
): Promise<ResolvedField | null> {
  let pg: ColumnInfo;
  let source: ResolvedField["source"];
  if (f.column !== undefined) {
    const c = table.columns.find((x) => x.name === f.column);
    if (!c) {
      problems.push({ path: `${at}.column`, message: noColumn(f.column, table) });
      return null;
    }
    pg = c;
    source = { column: f.column };
  } else {
    const sql = f.sql ?? "";
    const bad = sqlFragmentProblem(sql);
    if (bad) {
      problems.push({ path: `${at}.sql`, message: bad });
      return null;
    }
    const d = await describeScalar(s, sql, table, f.name);
    if (typeof d === "string") {
      problems.push({ path: `${at}.sql`, message: d });
      return null;
    }
    pg = d;
    source = { sql };
  }
  return checkedField(pg, f, source, at, problems);
}

/**
 * The type of an expression over one row of `table`, or the problem. It must
 * be a scalar of that row: an aggregate, window or set-returning function
 * would change how many rows the rendering statement returns (one per root),
 * so the expression is also put where Postgres refuses those (a WHERE clause).
 */
export async function describeScalar(
  s: CatalogSession,
  sql: string,
  table: TableInfo,
  name: string,
): Promise<ColumnInfo | string> {
  const from = `${tableSql(table)} "#row"`;
  const d = await s.describe(sql, from, name);
  if (typeof d === "string") return d;
  const scalar = await s.probe(`select 1 from ${from} where ((${sql}) is null) limit 0`);
  if (scalar === null) return d;
  return `must be an expression over one row (no aggregate, window or set-returning function): ${scalar}`;
}

/** The type, rendering and option checks of a field whose value type is known. */
export function checkedField(
  pg: ColumnInfo,
  f: SpecField,
  source: ResolvedField["source"],
  at: string,
  problems: SpecProblem[],
): ResolvedField | null {
  const what = "column" in source ? `column "${source.column}"` : "the expression";
  const before = problems.length;
  const inferred = inferredField(pg, f.name).type;
  if (f.type !== undefined) {
    const p = overrideProblem(inferred, f.type, pg);
    if (p) problems.push({ path: `${at}.type`, message: p });
  }
  const ts = typesenseField(pg, f);
  if (problems.length === before && valueSql(pg, ts.type, "x") === null) {
    problems.push({
      path: at,
      message: `${what} (${pg.typeName}) has no SQL rendering; write a "sql" expression that casts it (e.g. to text)`,
    });
  }
  if (f.sort === true && !SORTABLE_TYPES.has(ts.type)) {
    problems.push({ path: `${at}.sort`, message: `a ${ts.type} field cannot be sortable` });
  }
  if (f.facet === true && f.index === false) {
    problems.push({ path: `${at}.facet`, message: "a facet must be indexed (index is false)" });
  }
  if (f.num_dim !== undefined && ts.type !== "float[]") {
    problems.push({
      path: `${at}.num_dim`,
      message: `num_dim needs a float[] field, not ${ts.type}`,
    });
  }
  if (problems.length > before) return null;
  return { path: at, name: f.name, source, pg, typesense: ts };
}
