import type pg from "pg";
import type { TableInfo } from "../catalog/index.js";
import { quoteIdent } from "../db/sql-text.js";
import {
  outputText,
  type ResolvedDocument,
  renderSpecSql,
  type SpecSql,
} from "../documents/index.js";
import type { PendingOp } from "./batch.js";
import type { RowEvent, TextTuple } from "./events.js";
import { castType, keyTuple, type RootRoute, rootRoutes } from "./root-routes.js";

/**
 * What the stream needs of a job with a document spec (issue 15 point 2):
 * the routes from its relation tables back to its roots, and the spec's ONE
 * rendering statement (byIds, the same the full sync's windows and the
 * dead-letter retry use), run on the source when a flush is written.
 */
export interface SpecTarget {
  readonly resolved: ResolvedDocument;
  readonly sql: SpecSql;
  readonly routes: readonly RootRoute[];
  /** Every root inside the filter, paged like a route (a relation table was truncated). */
  readonly allRoots: RootRoute;
  /** Every table whose changes touch the job's documents: the root and each relation's. */
  readonly tables: ReadonlyArray<{ schema: string; table: string }>;
  /** The JSONL lines of these roots' documents (id -> line); an id without one has no document. */
  render(ids: readonly string[]): Promise<Map<string, string>>;
  /** One page of the roots `route` names for `keys`, after root id `after`, in id order. */
  roots(
    route: RootRoute,
    keys: ReadonlyArray<(string | null)[]>,
    after: string | null,
    limit: number,
  ): Promise<string[]>;
}

export function createSpecTarget(source: pg.Pool, resolved: ResolvedDocument): SpecTarget {
  const sql = renderSpecSql(resolved);
  const routes = rootRoutes(resolved);
  const seen = new Map<string, { schema: string; table: string }>();
  for (const t of [resolved.root, ...routes]) {
    seen.set(JSON.stringify([t.schema, t.table]), { schema: t.schema, table: t.table });
  }
  return {
    resolved,
    sql,
    routes,
    allRoots: allRootsRoute(resolved),
    tables: [...seen.values()],
    async render(ids) {
      const out = new Map<string, string>();
      if (ids.length === 0) return out;
      // one statement, one snapshot: every document of the batch as of now,
      // which is at least as new as every change that named it
      const r = await source.query<{ id: string; document: string }>(sql.byIds, [ids]);
      for (const row of r.rows) out.set(row.id, row.document);
      return out;
    },
    async roots(route, keys, after, limit) {
      const r = await source.query<{ id: string }>(route.rootsSql, [
        JSON.stringify(keys),
        after,
        limit,
      ]);
      return r.rows.map((x) => x.id);
    },
  };
}

/** The fanout op route number of `allRoots`, and its route path in the fan-out queue. */
export const ALL_ROOTS = -1;
export const ALL_ROOTS_PATH = "*";

function allRootsRoute(doc: ResolvedDocument): RootRoute {
  const id = `"#r0".${quoteIdent(doc.idColumn.name)}`;
  const type = castType(doc.idColumn);
  const filter = doc.filter === null ? "" : ` and (${doc.filter})`;
  return {
    schema: doc.root.schema,
    table: doc.root.table,
    path: ALL_ROOTS_PATH,
    keyColumns: [],
    direct: false,
    // $1 (the keys) is not used: every root; cast so the parameter still has a type
    rootsSql: `select ${outputText(doc.idColumn, id)} as id from ${quoteIdent(doc.root.schema)}.${quoteIdent(doc.root.table)} "#r0"
 where $1::json is not null and ($2::text is null or ${id} > $2::text::${type})${filter}
 order by ${id} limit $3`,
  };
}

/**
 * A relation table whose changes cannot name the roots they touch: its
 * updates and deletes carry only the replica identity's columns, so a child
 * moved to another parent (or deleted) would leave the old parent's document
 * stale. Each route's key columns must be in the replica identity (or it is
 * FULL), as the document id column must be for a root table (setup.ts).
 */
export function relationIdentityProblems(
  resolved: ResolvedDocument,
  routes: readonly RootRoute[],
): string[] {
  const problems: string[] = [];
  const tables = new Map<string, TableInfo>();
  const visit = (rels: ResolvedDocument["lookups"]) => {
    for (const r of rels) {
      tables.set(JSON.stringify([r.table.schema, r.table.table]), r.table);
      visit(r.lookups);
    }
  };
  visit(resolved.lookups);
  visit(resolved.children);
  for (const route of routes) {
    const t = tables.get(JSON.stringify([route.schema, route.table]))!;
    const name = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
    if (t.kind !== "table" && t.kind !== "partitioned_table") {
      problems.push(
        `${route.path}: ${name} is a ${t.kind.replace("_", " ")}; logical replication streams tables only`,
      );
      continue;
    }
    if (t.replicaIdentity === "full") continue;
    const missing = route.keyColumns.filter((c) => !t.replicaIdentityColumns.includes(c));
    if (missing.length === 0) continue;
    const carried =
      t.replicaIdentityColumns.length === 0
        ? "nothing (no primary key or REPLICA IDENTITY NOTHING)"
        : `only (${t.replicaIdentityColumns.join(", ")})`;
    problems.push(
      `${route.path}: updates and deletes of ${name} carry ${carried}, not ${missing.map(quoteIdent).join(", ")}, so a row moved to another parent or deleted could not name the documents it leaves; run ALTER TABLE ${name} REPLICA IDENTITY FULL (or make ${missing.map(quoteIdent).join(", ")} part of its replica identity)`,
    );
  }
  return [...new Set(problems)];
}

/**
 * The ops of one row change for a spec job. A root row: render its id (the
 * old one too when the key changed; a delete renders to nothing, so the doc
 * goes). A relation row: for every route of its table, the key tuples of the
 * old and the new row (a moved child names both parents): the root ids
 * themselves for a direct route, else one fanout op per tuple. Returns false
 * when a row carries no key to route by (setup's identity check prevents it).
 */
export function specRowOps(
  spec: SpecTarget,
  idColumn: string,
  ev: RowEvent,
  emit: (op: PendingOp) => void,
): boolean {
  const { schema, table } = ev.relation;
  const rows: TextTuple[] = [];
  if (ev.kind !== "delete") rows.push(ev.new);
  if (ev.kind !== "insert") {
    if (ev.old) rows.push(ev.old);
    if (ev.key) rows.push(ev.key);
  }
  let named = false;
  if (isRoot(spec, ev.relation)) {
    for (const r of rows) {
      const id = r[idColumn];
      if (typeof id === "string") {
        emit({ kind: "render", id });
        named = true;
      }
    }
  }
  spec.routes.forEach((route, index) => {
    if (route.schema !== schema || route.table !== table) return;
    for (const r of rows) {
      const key = keyTuple(route, r);
      if (key === null) continue;
      named = true;
      if (route.direct) {
        if (typeof key[0] === "string") emit({ kind: "render", id: key[0] });
      } else {
        emit({ kind: "fanout", id: `\u0000${index}:${JSON.stringify(key)}`, route: index, key });
      }
    }
  });
  return named;
}

/** Whether `rel` is the spec's root table. */
export function isRoot(spec: SpecTarget, rel: { schema: string; table: string }): boolean {
  return rel.schema === spec.resolved.root.schema && rel.table === spec.resolved.root.table;
}

/** The route a queued fan-out walks, or undefined when the spec has no such relation any more. */
export function routeByPath(spec: SpecTarget, path: string): RootRoute | undefined {
  return path === ALL_ROOTS_PATH ? spec.allRoots : spec.routes.find((r) => r.path === path);
}
