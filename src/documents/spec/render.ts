import { quoteIdent, sqlStringLiteral } from "../../db/sql-text.js";
import { outputText, renderIdSql } from "../sql-document.js";
import { valueSql } from "./field-types.js";
import { tableSql } from "./resolve-fields.js";
import type { ResolvedDocument, ResolvedField, ResolvedRelation } from "./types.js";

/**
 * The ONE statement that renders a spec's documents, in the forms its users
 * need. Postgres writes the document JSON text itself (no JS re-rendering):
 * root columns through the same value renderers as today's documents
 * (sql-document.ts), lookups as `LEFT JOIN LATERAL (... limit 1)`, children
 * as a LATERAL aggregate over `(select ... where fk = root.key order by ...
 * limit n)`. Each form is one statement, so a batch or a window is rendered
 * from one snapshot (no per-row queries).
 *
 * Operator SQL (field `sql`, `filter`, `order_by`) is pasted in parentheses;
 * resolution has checked it stays inside them (sql-fragment.ts) and that
 * Postgres accepts it where it stands. Unqualified column names resolve to
 * the row the field belongs to: the internal aliases are all `"#..."` names,
 * and each relation's expressions are evaluated in a lateral of their own.
 */
export interface SpecSql {
  /** The root row's id as text (the manifest's and the import's id), over alias `"#r"`. */
  readonly idText: string;
  /** The document's JSON text expression. */
  readonly document: string;
  /** `from <root> "#r" <laterals>`: the FROM clause every form shares. */
  readonly from: string;
  /** The filter as a WHERE conjunct (`true` without one). */
  readonly where: string;
  /**
   * `$1` = text[] of root document ids -> rows `(id text, document text)` for
   * the ids whose root row exists AND passes the filter. An id not returned
   * is to be deleted (CDC refetch, dead-letter retry).
   */
  readonly byIds: string;
  /**
   * `$1` = text[] of root ids -> `(id text)` of those whose root row exists and
   * passes the filter (no laterals: the filter is over the root row alone).
   */
  readonly existingByIds: string;
  /** `$1`, `$2` = first and last id (text): the window's rows between them that pass the filter. */
  readonly range: string;
  /** The same as `range` with the ids as literals, as `COPY (...) TO STDOUT (format binary)` (full sync's windows). */
  rangeCopy(first: string, last: string): string;
  /** Every document of the table (rows passing the filter): the bench's `COPY (<whole>) TO STDOUT`. */
  readonly whole: string;
  /**
   * The root's own fields with the SQL of their value's output text (for the
   * preview's conversion warnings); with `rawValues`, the root lookups' fields
   * too (their texts are then also selected by the lookup laterals).
   */
  readonly rawValues: ReadonlyArray<readonly [ResolvedField, string]>;
}

interface Rendered {
  /** Joins (laterals) to append after the relation's own FROM item. */
  joins: string[];
  /** The row's fields (own; lookups' when raw texts are asked for) and their output text SQL. */
  raws: Array<readonly [ResolvedField, string]>;
  /** (field name, JSON value text or NULL) in document order. */
  members: Array<readonly [string, string]>;
}

export interface RenderOptions {
  /** Also select the lookups' output texts (sampleDocuments' warnings); never for the write paths. */
  rawValues?: boolean;
}

export function renderSpecSql(resolved: ResolvedDocument, opts: RenderOptions = {}): SpecSql {
  const names = aliasCounter();
  const root = '"#r"';
  const own = renderRow(resolved.fields, resolved.lookups, root, {
    names,
    raw: opts.rawValues === true,
  });
  const members = [...own.members];
  const joins = [...own.joins];
  for (const c of resolved.children) {
    const child = renderChild(c, root, { names, raw: false });
    joins.push(child.join);
    members.push(...child.members);
  }
  const idCol = `${root}.${quoteIdent(resolved.idColumn.name)}`;
  const document = [
    `'{"id":' || ${renderIdSql(resolved.idColumn, idCol)}`,
    ...members.map(([name, v]) => `coalesce(${key(name)} || (${v}), '')`),
    `'}'`,
  ].join("\n || ");
  const idText = outputText(resolved.idColumn, idCol);
  const from = [`from ${tableSql(resolved.root)} ${root}`, ...joins].join("\n");
  const where = resolved.filter === null ? "true" : `(${resolved.filter})`;
  const type = resolved.idColumn.typeName;
  const select = `select ${idText} as id, ${document} as document\n${from}`;
  const literal = (text: string) =>
    `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'::text::${type}`;
  return {
    idText,
    document,
    from,
    where,
    byIds: `${select}\nwhere ${idCol} = any($1::text[]::${type}[]) and ${where}`,
    existingByIds: `select ${idText} as id from ${tableSql(resolved.root)} ${root}\nwhere ${idCol} = any($1::text[]::${type}[]) and ${where}`,
    range: `${select}\nwhere ${idCol} between $1::text::${type} and $2::text::${type} and ${where}`,
    rangeCopy: (first, last) =>
      `copy (${select}\nwhere ${idCol} between ${literal(first)} and ${literal(last)} and ${where}) to stdout (format binary)`,
    // a NULL id has no document (the other forms never match one)
    whole: `${select}\nwhere ${idCol} is not null and ${where}`,
    rawValues: own.raws,
  };
}

function key(name: string): string {
  return sqlStringLiteral(`,${JSON.stringify(name)}:`);
}

/** The statement's alias counter, and whether lookups expose their values' output texts. */
interface RenderContext {
  names: () => number;
  raw: boolean;
}

function aliasCounter(): () => number {
  let n = 0;
  return () => ++n;
}

/**
 * A row's own fields (columns by `alias."col"`, expressions through one lateral
 * `(select (<sql>) as "#e0", ...)` so each is evaluated once and unqualified
 * names resolve to this row) and its lookups' fields, flat.
 */
function renderRow(
  fields: readonly ResolvedField[],
  lookups: readonly ResolvedRelation[],
  alias: string,
  ctx: RenderContext,
): Rendered {
  const joins: string[] = [];
  const members: Array<readonly [string, string]> = [];
  const raws: Array<readonly [ResolvedField, string]> = [];
  const exprs: string[] = [];
  const exprAlias = `"#e${ctx.names()}"`;
  for (const f of fields) {
    let ref: string;
    if ("column" in f.source) ref = `${alias}.${quoteIdent(f.source.column)}`;
    else {
      ref = `${exprAlias}."#e${exprs.length}"`;
      exprs.push(`(${f.source.sql}) as "#e${exprs.length}"`);
    }
    members.push([f.name, fieldValueSql(f, ref)]);
    raws.push([f, outputText(f.pg, ref)]);
  }
  if (exprs.length > 0) joins.push(`cross join lateral (select ${exprs.join(", ")}) ${exprAlias}`);
  for (const l of lookups) {
    const r = renderLookup(l, alias, ctx);
    joins.push(r.join);
    members.push(...r.members);
    raws.push(...r.raws);
  }
  return { joins, members, raws };
}

function fieldValueSql(f: ResolvedField, ref: string): string {
  const v = valueSql(f.pg, f.typesense.type, ref);
  // resolution refused fields without a rendering (checkedField)
  if (v === null) throw new Error(`${f.path}: no SQL rendering for ${f.pg.typeName}`);
  return v;
}

/**
 * Many-to-one: at most one row (resolution checked `on` hits a unique key),
 * so `limit 1` only states it. No match: every value NULL, so no field.
 */
function renderLookup(
  l: ResolvedRelation,
  owner: string,
  ctx: RenderContext,
): Pick<Rendered, "members" | "raws"> & { join: string } {
  const n = ctx.names();
  const t = `"#t${n}"`;
  const j = `"#j${n}"`;
  const inner = renderRow(l.fields, l.lookups, t, ctx);
  const on = l.on
    .map(([own, other]) => `${t}.${quoteIdent(other)} = ${owner}.${quoteIdent(own)}`)
    .join(" and ");
  const cols = inner.members.map(([, v], i) => `${v} as "#v${i}"`);
  const raws = ctx.raw ? inner.raws.map(([f, text], i) => [f, text, `"#w${i}"`] as const) : [];
  for (const [, text, col] of raws) cols.push(`${text} as ${col}`);
  const join =
    `left join lateral (select ${cols.join(", ")}\n from ${tableSql(l.table)} ${t} ${inner.joins.join("\n")}` +
    `\n where ${on} limit 1) ${j} on true`;
  return {
    join,
    members: inner.members.map(([name], i) => [name, `${j}."#v${i}"`] as const),
    raws: raws.map(([f, , col]) => [f, `${j}.${col}`] as const),
  };
}

/**
 * One-to-many: the child rows of this root (`on` = root key -> child fk) in
 * `order_by` order then primary key order, at most `limit`, aggregated into
 * one value per member. No child rows: `[]` (the field is present and empty);
 * NULL child values: left out of the object (objects) or of the array (arrays).
 */
function renderChild(
  c: ResolvedRelation,
  root: string,
  ctx: RenderContext,
): { join: string; members: Array<readonly [string, string]> } {
  const n = ctx.names();
  const t = `"#t${n}"`;
  const k = `"#k${n}"`;
  const row = renderRow(c.fields, c.lookups, t, ctx);
  const on = c.on
    .map(([own, other]) => `${t}.${quoteIdent(other)} = ${root}.${quoteIdent(own)}`)
    .join(" and ");
  const order = [
    ...(c.orderBy !== undefined ? [c.orderBy] : []),
    ...c.table.primaryKey.map((p) => `${t}.${quoteIdent(p)}`),
  ].join(", ");
  const cols =
    c.shape === "arrays"
      ? row.members.map(([, v], i) => `${v} as "#v${i}"`)
      : [
          `'{' || pg_catalog.substr(${row.members.map(([name, v]) => `coalesce(${key(name)} || (${v}), '')`).join(" || ") || "''"}, 2) || '}' as "#o"`,
        ];
  const inner =
    `select ${cols.join(", ")}, pg_catalog.row_number() over (order by ${order}) as "#n"` +
    `\n from ${tableSql(c.table)} ${t} ${row.joins.join("\n")}\n where ${on} order by "#n" limit ${c.limit ?? 100}`;
  const agg = (col: string) =>
    `'[' || coalesce(pg_catalog.string_agg(${col}, ',' order by "#n"), '') || ']'`;
  if (c.shape === "arrays") {
    const outs = row.members.map((_, i) => `${agg(`"#v${i}"`)} as "#a${i}"`);
    return {
      join: `cross join lateral (select ${outs.join(", ")} from (${inner}) "#s") ${k}`,
      members: row.members.map(([name], i) => [`${c.name}_${name}`, `${k}."#a${i}"`] as const),
    };
  }
  return {
    join: `cross join lateral (select ${agg('"#o"')} as "#a" from (${inner}) "#s") ${k}`,
    members: [[c.name, `${k}."#a"`]],
  };
}
