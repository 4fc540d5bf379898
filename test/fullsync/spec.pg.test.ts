import { describe, expect, it } from "vitest";
import type { Document } from "../../src/typesense/types.js";
import { oracleDocuments, SHOP_DDL, SHOP_SPEC } from "../documents/spec/fixture.js";
import { insertJob } from "./helpers.js";
import { collectionDocuments, useEngineFixture } from "./support.js";

/*
 * Full sync of a job with a document spec reads every window through the
 * spec's one statement: a run ends with the collection equal to the oracle
 * (hand-written SQL over the tables), the first run into an empty collection
 * (Postgres-rendered import lines) as well as a later one (pre-images
 * compared), where a root that left the filter or was deleted is removed.
 */

const fx = useEngineFixture({ owner: "test", windowSize: 2 });
const { db, source, ts, engine } = fx;

async function specJob(): Promise<{ jobId: string; collection: string }> {
  await source.pool.query(SHOP_DDL);
  const collection = ts.uniqueName("shop");
  const jobId = await insertJob(db.pool, {
    collection,
    table: "products",
    windowSize: 2,
    queryable: ["title"],
  });
  await db.pool.query("update typesense_sync_jobs set document = $2 where id = $1", [
    jobId,
    SHOP_SPEC,
  ]);
  return { jobId, collection };
}

function sorted(m: Map<string, Document>): Array<[string, Document]> {
  return [...m].sort(([a], [b]) => Number(a) - Number(b));
}

describe("full sync of a job with a document spec", () => {
  it("writes the spec's documents, then follows filter flips, deletes and related-row changes", async () => {
    const { jobId, collection } = await specJob();
    let renderedImports = 0;
    const backend = fx.backend;
    const counting = Object.assign(Object.create(backend), {
      importJsonLines: (...a: Parameters<typeof backend.importJsonLines>) => {
        renderedImports++;
        return backend.importJsonLines(...a);
      },
    }) as typeof backend;
    const first = await engine({ backendFor: async () => counting }).runJob(jobId, {
      trigger: "manual",
    });
    expect(first.error).toBeNull();
    expect(first.counters).toMatchObject({ imported: 5, failed: 0 });
    // empty collection at start: the windows imported Postgres' lines (the spec's range COPY)
    expect(renderedImports).toBeGreaterThan(0);
    expect(sorted(await collectionDocuments(fx.backend, collection))).toEqual(
      sorted(await oracleDocuments(source.pool)),
    );
    const schema = await fx.backend.getCollection(collection);
    expect(schema?.fields.map((f) => f.name)).toContain("variants.color");

    await source.pool.query(`
      update products set status = 'draft' where id = 2;          -- leaves the filter
      update products set deleted_at = null where id = 5;         -- enters it
      delete from products where id = 3;
      update brands set name = 'Acme Corp' where id = 1;          -- a lookup row
      delete from variants where id = 11;                         -- a child row
      update variants set product_id = 7 where id = 60;           -- a child moved to another root
    `);
    const second = await engine().runJob(jobId, { trigger: "manual" });
    expect(second.error).toBeNull();
    const want = await oracleDocuments(source.pool);
    expect([...want.keys()].sort()).toEqual(["1", "5", "6", "7"]);
    expect(sorted(await collectionDocuments(fx.backend, collection))).toEqual(sorted(want));
  });

  it("a spec the catalog no longer fits fails the run naming the spec's path", async () => {
    const collection = ts.uniqueName("shop_bad");
    const jobId = await insertJob(db.pool, { collection, table: "products", queryable: ["title"] });
    await db.pool.query("update typesense_sync_jobs set document = $2 where id = $1", [
      jobId,
      SHOP_SPEC,
    ]);
    await source.pool.query("alter table brands rename column name to label");
    try {
      const res = await engine().runJob(jobId, { trigger: "manual" });
      expect(res.status).toBe("failed");
      expect(res.error).toContain(
        'document.lookups[0].fields[0].column: column "name" does not exist in "public"."brands"',
      );
    } finally {
      await source.pool.query("alter table brands rename column label to name");
    }
  });
});
