import type { ColumnInfo } from "../catalog/describe-table.js";
import { quoteIdent } from "../db/sql-text.js";
import { outputText, type ResolvedDocument, type ResolvedRelation } from "../documents/index.js";

/*
 * Which documents a change to a lookup or child row touches (issue 15 point 2).
 *
 * A spec job's document reads its root row and, through the spec's relations,
 * rows of other tables. A change to one of those rows changes exactly the
 * documents of the roots that reach it along the relation's path:
 *
 *   root "#r0" --children[0].on--> variants "#r1" --lookups[0].on--> colors
 *        ^ ids found here            ^ joined back         changed row's key:
 *                                                          colors.code = $keys
 *
 * A route holds, per relation, the changed row's columns that name its
 * parent rows (the relation's side of `on`) and the statement that walks the
 * path back to the root ids. The stream evaluates a route with the OLD and the
 * NEW row's key values (a child moved from one parent to another re-renders
 * both), then re-renders those roots with the spec's one statement (byIds):
 * the document is never derived from the WAL tuple itself, so a relation
 * change and a root change end in the same rendering.
 *
 * Roots outside the spec's filter are left out: they have no document, and a
 * root entering or leaving the filter is a change of the root row itself,
 * which the root's own events handle (the filter reads only the root row).
 */

/** How the changes of one relation table name the roots whose documents they change. */
export interface RootRoute {
  schema: string;
  table: string;
  /** JSON path of the relation in the spec, for messages. */
  path: string;
  /** The changed row's columns whose values name its parents (the relation's side of `on`), in order. */
  keyColumns: readonly string[];
  /**
   * The key values ARE the root ids: a child whose `on` maps the root's id
   * column (same base type, so the same output text). No statement is
   * needed: a root outside the filter renders to nothing, and deleting a
   * document that is not there is a no-op.
   */
  direct: boolean;
  /**
   * `$1` = JSON array of key tuples (each an array of the key columns' output
   * text, in keyColumns order; null for NULL), `$2` = the last root id of the
   * previous page as text (null for the first page), `$3` = page size: the
   * root document ids (column `id`, text) in id order, after `$2`, at most `$3`.
   * Paged so that a lookup row shared by many roots fans out in bounded chunks.
   */
  rootsSql: string;
}

interface Hop {
  /** The relation joined at this step. */
  rel: ResolvedRelation;
  /** Its alias in the walk. */
  alias: string;
}

/** Every relation of the spec (nested lookups included), each with its route back to the root. */
export function rootRoutes(doc: ResolvedDocument): RootRoute[] {
  const routes: RootRoute[] = [];
  const visit = (rels: readonly ResolvedRelation[], parents: readonly Hop[]) => {
    for (const rel of rels) {
      routes.push(routeOf(doc, rel, parents));
      const alias = `"#r${parents.length + 1}"`;
      visit(rel.lookups, [...parents, { rel, alias }]);
    }
  };
  visit(doc.lookups, []);
  visit(doc.children, []);
  return routes;
}

/** The routes whose table is `schema.table` (a table may appear in several relations). */
export function routesOf(routes: readonly RootRoute[], schema: string, table: string): RootRoute[] {
  return routes.filter((r) => r.schema === schema && r.table === table);
}

function routeOf(doc: ResolvedDocument, rel: ResolvedRelation, parents: readonly Hop[]): RootRoute {
  const root = '"#r0"';
  const parentAlias = parents.at(-1)?.alias ?? root;
  const idCol = doc.idColumn;
  const joins = parents.map((h, i) => {
    const from = i === 0 ? root : parents[i - 1]!.alias;
    const on = h.rel.on
      .map(([own, other]) => `${from}.${quoteIdent(own)} = ${h.alias}.${quoteIdent(other)}`)
      .join(" and ");
    return `join ${tableRef(h.rel)} ${h.alias} on ${on}`;
  });
  // the changed row's key values compared as the relation's own join does:
  // parent.own = (key text)::<type of the relation's column>
  const keys = rel.on
    .map(([own, other], i) => {
      const col = columnOf(rel, other);
      return `${parentAlias}.${quoteIdent(own)} = ("#k".k ->> ${i})::${castType(col)}`;
    })
    .join(" and ");
  const idRef = `${root}.${quoteIdent(idCol.name)}`;
  const filter = doc.filter === null ? "" : ` and (${doc.filter})`;
  const rootsSql = [
    `select distinct ${outputText(idCol, idRef)} as id, ${idRef} as "#id"`,
    `from ${quoteIdent(doc.root.schema)}.${quoteIdent(doc.root.table)} ${root}`,
    ...joins,
    `join pg_catalog.json_array_elements($1::json) as "#k"(k) on ${keys}`,
    `where ($2::text is null or ${idRef} > $2::text::${castType(idCol)})${filter}`,
    `order by ${idRef} limit $3`,
  ].join("\n");
  const direct =
    parents.length === 0 &&
    rel.kind === "child" &&
    rel.on.length === 1 &&
    rel.on[0]![0] === idCol.name &&
    columnOf(rel, rel.on[0]![1]).baseTypeName === idCol.baseTypeName &&
    !idCol.isArray;
  return {
    schema: rel.table.schema,
    table: rel.table.table,
    path: rel.path,
    keyColumns: rel.on.map(([, other]) => other),
    direct,
    // select list: the id text first (the caller reads `id`); "#id" orders the distinct set
    rootsSql: `select id from (${rootsSql}) "#roots"`,
  };
}

function tableRef(rel: ResolvedRelation): string {
  return `${quoteIdent(rel.table.schema)}.${quoteIdent(rel.table.table)}`;
}

function columnOf(rel: ResolvedRelation, name: string): ColumnInfo {
  const col = rel.table.columns.find((c) => c.name === name);
  if (!col) throw new Error(`${rel.path}: column ${name} missing after resolution`);
  return col;
}

/** The type a key's text is cast to: the column's base type (domains resolved), as its join compares. */
export function castType(col: ColumnInfo): string {
  return col.isArray ? `${col.typeName}` : `pg_catalog.${quoteIdent(col.baseTypeName)}`;
}

/**
 * A changed row's key tuple for a route, from its text values (pgoutput /
 * wal2json text; undefined = not sent: an unchanged TOAST value or a column
 * outside the replica identity of an old tuple). null when a key column is
 * unknown: the route cannot name roots from this row (setup's replica
 * identity check makes that impossible for a table it accepted).
 */
export function keyTuple(
  route: RootRoute,
  row: Readonly<Record<string, string | null | undefined>>,
): (string | null)[] | null {
  const out: (string | null)[] = [];
  for (const c of route.keyColumns) {
    const v = row[c];
    if (v === undefined) return null;
    out.push(v);
  }
  return out;
}
