import type { TableInfo } from "../../catalog/index.js";
import type { SpecChild, SpecLookup } from "../../db/repositories/document-spec.js";
import { quoteIdent } from "../../db/sql-text.js";
import type { CatalogSession } from "./catalog-session.js";
import { noColumn, resolveFields, tableSql } from "./resolve-fields.js";
import { sqlFragmentProblem } from "./sql-fragment.js";
import type { ResolvedField, ResolvedRelation, SpecProblem } from "./types.js";

/**
 * How deep lookups nest: root (0) -> lookup (1) -> lookup (2) -> ... up to 4.
 * A child counts as one level, so a child's lookup is level 2 and its own
 * lookups go to 4. Children hang off the root only (the spec's JSON has no
 * `children` under a child or a lookup). docs/documents.md "Decisions".
 */
export const MAX_DEPTH = 4;

/** `schema.table` or `table` (in the job's schema); names are exact, unquoted. */
export function parseTableRef(
  ref: string,
  defaultSchema: string,
): { schema: string; table: string } {
  const dot = ref.indexOf(".");
  return dot < 0
    ? { schema: defaultSchema, table: ref }
    : { schema: ref.slice(0, dot), table: ref.slice(dot + 1) };
}

interface RelationCommon {
  table: string;
  on: Record<string, string>;
}

/** The table and `on` pairs of a lookup or child, checked on both sides and for comparable types. */
async function resolveJoin(
  s: CatalogSession,
  owner: TableInfo,
  rel: RelationCommon,
  defaultSchema: string,
  path: string,
  problems: SpecProblem[],
): Promise<{ table: TableInfo; on: Array<readonly [string, string]> } | null> {
  const ref = parseTableRef(rel.table, defaultSchema);
  const target = await s.table(ref.schema, ref.table);
  if (typeof target === "string") {
    // describeTable's message starts with the quoted table name
    problems.push({ path: `${path}.table`, message: `table ${target}` });
    return null;
  }
  const on: Array<readonly [string, string]> = [];
  for (const [own, other] of Object.entries(rel.on)) {
    const at = `${path}.on.${own}`;
    const a = owner.columns.find((c) => c.name === own);
    const b = target.columns.find((c) => c.name === other);
    if (!a) problems.push({ path: at, message: noColumn(own, owner) });
    if (!b) problems.push({ path: at, message: noColumn(other, target) });
    if (!a || !b) continue;
    const cmp = await s.probe(
      `select (o.${quoteIdent(own)} = t.${quoteIdent(other)}) from ${tableSql(owner)} o, ${tableSql(target)} t limit 0`,
    );
    if (cmp) {
      problems.push({
        path: at,
        message: `${tableSql(owner)}.${quoteIdent(own)} (${a.typeName}) and ${tableSql(target)}.${quoteIdent(other)} (${b.typeName}) cannot be compared: ${cmp}`,
      });
      continue;
    }
    on.push([own, other]);
  }
  return on.length === Object.keys(rel.on).length ? { table: target, on } : null;
}

export async function resolveLookups(
  s: CatalogSession,
  owner: TableInfo,
  lookups: readonly SpecLookup[],
  defaultSchema: string,
  path: string,
  depth: number,
  problems: SpecProblem[],
): Promise<ResolvedRelation[]> {
  const out: ResolvedRelation[] = [];
  if (lookups.length > 0 && depth > MAX_DEPTH) {
    problems.push({
      path,
      message: `lookups nest at most ${MAX_DEPTH} levels deep (children count as one)`,
    });
    return out;
  }
  for (const [i, l] of lookups.entries()) {
    const at = `${path}[${i}]`;
    const join = await resolveJoin(s, owner, l, defaultSchema, at, problems);
    if (!join) continue;
    const others = join.on.map(([, o]) => o);
    if (!(await s.uniqueKey(join.table, others))) {
      problems.push({
        path: `${at}.on`,
        message: `(${others.join(", ")}) is not a unique key of ${tableSql(join.table)}: a lookup is many-to-one, so its "on" must name the looked-up table's primary key or columns with a unique index (use "children" for one-to-many)`,
      });
      continue;
    }
    const fields = await resolveFields(s, join.table, l.fields, `${at}.fields`, problems);
    const nested = await resolveLookups(
      s,
      join.table,
      l.lookups ?? [],
      defaultSchema,
      `${at}.lookups`,
      depth + 1,
      problems,
    );
    out.push({
      kind: "lookup",
      path: at,
      name: l.name,
      table: join.table,
      on: join.on,
      fields,
      lookups: nested,
    });
  }
  return out;
}

export async function resolveChildren(
  s: CatalogSession,
  root: TableInfo,
  children: readonly SpecChild[],
  defaultSchema: string,
  problems: SpecProblem[],
): Promise<ResolvedRelation[]> {
  const out: ResolvedRelation[] = [];
  for (const [i, c] of children.entries()) {
    const at = `document.children[${i}]`;
    const join = await resolveJoin(s, root, c, defaultSchema, at, problems);
    if (!join) continue;
    const orderOk = await checkOrderBy(s, join.table, c.order_by, `${at}.order_by`, problems);
    const fields = await resolveFields(s, join.table, c.fields, `${at}.fields`, problems);
    const lookups = await resolveLookups(
      s,
      join.table,
      c.lookups,
      defaultSchema,
      `${at}.lookups`,
      2,
      problems,
    );
    if (c.shape === "arrays") checkArrayShape(fields, lookups, problems);
    if (!orderOk) continue;
    const rel: ResolvedRelation = {
      kind: "child",
      path: at,
      name: c.name,
      table: join.table,
      on: join.on,
      fields,
      lookups,
      limit: c.limit,
      shape: c.shape,
    };
    if (c.order_by !== undefined) rel.orderBy = c.order_by;
    out.push(rel);
  }
  return out;
}

/**
 * The child rows' order: `order_by` then the primary key (so ties, and the
 * `limit` cut, are deterministic); without `order_by` the primary key alone.
 * A child table with neither cannot be cut deterministically: refused.
 */
async function checkOrderBy(
  s: CatalogSession,
  table: TableInfo,
  orderBy: string | undefined,
  at: string,
  problems: SpecProblem[],
): Promise<boolean> {
  if (orderBy === undefined) {
    if (table.primaryKey.length > 0) return true;
    problems.push({
      path: at,
      message: `${tableSql(table)} has no primary key to order its rows by; give order_by`,
    });
    return false;
  }
  const bad = sqlFragmentProblem(orderBy);
  const err =
    bad ??
    (await s.probe(
      // where the rendering puts it (the child rows' window order), beside the
      // row's columns: an aggregate there would make it one row, and is refused
      `select "#row".*, pg_catalog.row_number() over (order by ${orderBy}) from ${tableSql(table)} "#row" limit 0`,
    ));
  if (err) problems.push({ path: at, message: err });
  return err === null;
}

/** arrays shape: one Typesense array per child field, so a field must be a scalar. */
function checkArrayShape(
  fields: readonly ResolvedField[],
  lookups: readonly ResolvedRelation[],
  problems: SpecProblem[],
): void {
  for (const f of flattenFields(fields, lookups)) {
    const t = f.typesense.type;
    if (t.endsWith("[]") || t === "object") {
      problems.push({
        path: f.path,
        message: `shape "arrays" makes one array per child field, so a field must be a scalar, not ${t} (use shape "objects")`,
      });
    }
  }
}

/** A relation's own fields, then its lookups' (depth first): the fields it adds flat. */
export function flattenFields(
  fields: readonly ResolvedField[],
  lookups: readonly ResolvedRelation[],
): ResolvedField[] {
  const out = [...fields];
  for (const l of lookups) out.push(...flattenFields(l.fields, l.lookups));
  return out;
}
