import { beforeAll, describe, expect, it } from "vitest";
import { keyTuple, type RootRoute, rootRoutes, routesOf } from "../../src/cdc/root-routes.js";
import { relationIdentityProblems } from "../../src/cdc/spec-target.js";
import { type ResolvedDocument, resolveDocumentSpec } from "../../src/documents/index.js";
import { oracleDocuments, SHOP_DDL, SHOP_JOB, SHOP_SPEC } from "../documents/spec/fixture.js";
import { useTestDatabase } from "../support/pg.js";

/*
 * A change to a lookup or child row names the roots whose documents it
 * changes (issue 15 point 2). The proof is against the oracle: after any
 * change of a relation row, every root whose hand-computed document changed
 * is among the roots its routes name from the row's old and new values.
 */

const db = useTestDatabase({ migrate: false });
let resolved: ResolvedDocument;
let routes: RootRoute[];

beforeAll(async () => {
  await db.pool.query(SHOP_DDL);
  resolved = await resolveDocumentSpec(db.pool, SHOP_JOB, SHOP_SPEC);
  routes = rootRoutes(resolved);
});

type TextRow = Record<string, string | null>;

/** The roots a route names for these key rows, read page by page. */
async function rootsOf(route: RootRoute, rows: TextRow[], pageSize = 1000): Promise<string[]> {
  const keys = rows.map((r) => keyTuple(route, r)).filter((k) => k !== null);
  if (route.direct) return keys.map((k) => k[0]).filter((v): v is string => typeof v === "string");
  const out: string[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { rows: { id: string }[] } = await db.pool.query<{ id: string }>(route.rootsSql, [
      JSON.stringify(keys),
      after,
      pageSize,
    ]);
    out.push(...r.rows.map((x) => x.id));
    if (r.rows.length < pageSize) return out;
    after = r.rows.at(-1)!.id;
  }
}

async function rootsOfTable(table: string, rows: TextRow[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const route of routesOf(routes, "public", table)) {
    for (const id of await rootsOf(route, rows)) ids.add(id);
  }
  return ids;
}

/** A row's columns as text, the way the WAL carries them. */
async function textRow(table: string, where: string): Promise<TextRow | null> {
  const r = await db.pool.query<{ j: Record<string, unknown> }>(
    `select to_jsonb(t) as j from ${table} t where ${where}`,
  );
  const j = r.rows[0]?.j;
  if (!j) return null;
  return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, v === null ? null : String(v)]));
}

describe("root routes of a spec's relations", () => {
  it("has one route per relation, keyed on the relation's side of `on`", () => {
    const summary = routes.map((r) => `${r.path} ${r.table}(${r.keyColumns.join(",")})`);
    expect(summary).toEqual([
      "document.lookups[0] brands(id)",
      "document.children[0] variants(product_id)",
      "document.children[0].lookups[0] colors(code)",
      "document.children[1] variants(product_id)",
      "document.children[1].lookups[0] colors(code)",
    ]);
    // children keyed on the root id name their roots without a statement
    expect(routes.filter((r) => r.direct).map((r) => r.path)).toEqual([
      "document.children[0]",
      "document.children[1]",
    ]);
  });

  it("names the roots that read a row, inside the filter only", async () => {
    expect([...(await rootsOfTable("brands", [{ id: "1" }]))]).toEqual(["1"]); // 4 draft, 5 deleted
    expect([...(await rootsOfTable("colors", [{ code: "red" }]))].sort()).toEqual(["1", "6"]); // 4 draft
    expect([...(await rootsOfTable("variants", [{ product_id: "2" }]))]).toEqual(["2"]);
    // a direct route names the root as is: product 5 (outside the filter) renders to nothing
    expect([...(await rootsOfTable("variants", [{ product_id: "5" }]))]).toEqual(["5"]);
  });

  it("setup refuses a child table whose updates and deletes cannot name their old parent", async () => {
    const problems = relationIdentityProblems(resolved, routes);
    // variants: identity (id) lacks product_id; brands and colors are keyed on their primary key
    expect(problems).toEqual([
      expect.stringMatching(
        /^document\.children\[0\]: updates and deletes of "public"\."variants" carry only \(id\), not "product_id", .*ALTER TABLE "public"\."variants" REPLICA IDENTITY FULL/,
      ),
      expect.stringMatching(/^document\.children\[1\]: .*"product_id"/),
    ]);
    await db.pool.query("alter table variants replica identity full");
    try {
      const fresh = await resolveDocumentSpec(db.pool, SHOP_JOB, SHOP_SPEC);
      expect(relationIdentityProblems(fresh, rootRoutes(fresh))).toEqual([]);
    } finally {
      await db.pool.query("alter table variants replica identity default");
    }
  });

  it("fans out page by page in id order", async () => {
    const [route] = routesOf(routes, "public", "colors");
    expect(await rootsOf(route!, [{ code: "red" }, { code: "blu" }], 1)).toEqual(["1", "6", "7"]);
  });

  it("a key column the row does not carry gives no tuple (the route cannot name roots)", () => {
    const [route] = routesOf(routes, "public", "variants");
    expect(keyTuple(route!, { id: "10" })).toBeNull();
    expect(keyTuple(route!, { id: "10", product_id: null })).toEqual([null]);
  });

  it("covers every document a random relation change alters (old and new values)", async () => {
    const seed = 20261207;
    let s = seed;
    const rand = (n: number) => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s % n;
    };
    const colors = ["red", "blu", "nul", "zzz", null];
    const mutations: Array<{ table: string; key: string; sql: () => string }> = [
      {
        table: "variants",
        key: "id",
        sql: () => `update variants set product_id = ${1 + rand(7)} where id = $1`,
      },
      {
        table: "variants",
        key: "id",
        sql: () => `update variants set position = ${rand(6)}, sku = sku || 'x' where id = $1`,
      },
      {
        table: "variants",
        key: "id",
        sql: () =>
          `update variants set color_code = ${sqlText(colors[rand(colors.length)]!)} where id = $1`,
      },
      { table: "variants", key: "id", sql: () => "delete from variants where id = $1" },
      {
        table: "colors",
        key: "code",
        sql: () => `update colors set label = label || '!' where code = $1`,
      },
      {
        table: "brands",
        key: "id",
        sql: () => `update brands set name = coalesce(name, '') || '?' where id = $1`,
      },
      { table: "brands", key: "id", sql: () => "update brands set id = id + 100 where id = $1" },
    ];
    let checked = 0;
    for (let round = 0; round < 40; round++) {
      const m = mutations[rand(mutations.length)]!;
      const keys = (
        await db.pool.query<{ k: string }>(`select ${m.key}::text as k from ${m.table} order by 1`)
      ).rows.map((r) => r.k);
      if (keys.length === 0) continue;
      const key = keys[rand(keys.length)]!;
      const where = `${m.key}::text = '${key}'`;
      const before = await textRow(m.table, where);
      const docsBefore = await oracleDocuments(db.pool);
      const sql = m.sql();
      const changed = await db.pool.query<{ k: string }>(`${sql} returning ${m.key}::text as k`, [
        m.table === "colors" ? key : Number(key),
      ]);
      const after =
        changed.rows[0] && m.table !== "variants"
          ? await textRow(m.table, `${m.key}::text = '${changed.rows[0].k}'`)
          : await textRow(m.table, where);
      const docsAfter = await oracleDocuments(db.pool);
      const named = await rootsOfTable(
        m.table,
        [before, after].filter((r) => r !== null),
      );
      for (const id of new Set([...docsBefore.keys(), ...docsAfter.keys()])) {
        if (JSON.stringify(docsBefore.get(id)) !== JSON.stringify(docsAfter.get(id))) {
          expect(named, `round ${round}: ${sql} (${key}) changed root ${id}`).toContain(id);
          checked++;
        }
      }
    }
    // the rounds did change documents (the test would prove nothing otherwise)
    expect(checked).toBeGreaterThan(10);
  });
});

function sqlText(v: string | null): string {
  return v === null ? "null" : `'${v}'`;
}
