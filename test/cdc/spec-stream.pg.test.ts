import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queuedFanoutCount } from "../../src/db/repositories/cdc-fanouts.js";
import { DocumentSpec } from "../../src/db/repositories/document-spec.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import {
  normalizedDocuments,
  oracleDocuments,
  SHOP_DDL,
  SHOP_SPEC,
} from "../documents/spec/fixture.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import {
  backendFor,
  docsOf,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  streamRow,
  waitFor,
} from "./helpers.js";

/*
 * A document spec job stays live through CDC (issue 15 point 2): changes to
 * the root, its lookup and its child tables (and the child's own lookup)
 * re-render exactly the roots they touch, with the spec's one statement, and
 * the collection ends equal to the hand-written oracle over the tables.
 */

const db = useTestDatabase();
const ts = useTypesense();
const CLIENT = "shop";

/** The collection as the oracle computes it: Typesense's export, same shape. */
async function expectCollectionEqualsOracle(backend: TypesenseBackend, collection: string) {
  const want = await oracleDocuments(db.pool);
  const have = await docsOf(backend, collection);
  expect(normalizedDocuments(have)).toEqual(normalizedDocuments(want));
}

const equalsOracle = (backend: TypesenseBackend, collection: string) => async () =>
  expectCollectionEqualsOracle(backend, collection).then(
    () => true,
    () => false,
  );

describe("CDC of a document spec job", () => {
  let backend: TypesenseBackend;
  let stream: RunningStream;
  let collection: string;
  let jobId: string;
  const resyncs: string[] = [];

  beforeAll(async () => {
    backend = backendFor(ts.url, ts.apiKey);
    collection = ts.uniqueName("shop");
    await db.pool.query(SHOP_DDL);
    // a moved or deleted variant must name its old product
    await db.pool.query("alter table variants replica identity full");
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    jobId = await insertJob(db.pool, {
      profileId: profile,
      client: CLIENT,
      table: "products",
      collection,
      document: DocumentSpec.parse(SHOP_SPEC),
    });
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: CLIENT,
      backend,
      log: silentLogger(),
      resyncs,
      // two roots per page: every fan-out below takes several windows
      fanoutPageSize: 2,
    });
    await waitFor(
      "streaming",
      async () => (await streamRow(db.pool, CLIENT))?.status === "streaming",
    );
  });
  afterAll(async () => {
    await stream?.stop();
  });

  it("publishes the root, lookup and child tables", async () => {
    const pub = await db.pool.query<{ tablename: string }>(
      "select tablename from pg_publication_tables where pubname = 't_cdc_shop' order by 1",
    );
    expect(pub.rows.map((r) => r.tablename)).toEqual(["brands", "colors", "products", "variants"]);
    expect(resyncs).toContain(jobId);
  });

  it("root changes render the spec's documents (filter in and out)", async () => {
    // no full sync in this test: touching every root renders them all
    await db.pool.query("update products set title = title");
    await waitFor("every root rendered", equalsOracle(backend, collection), 20_000);
    const docs = await docsOf(backend, collection);
    expect(docs.get("1")?.brand_name).toBe("Acme");
    // leaves the filter: deleted; enters it: upserted
    await db.pool.query("update products set status = 'draft' where id = 2");
    await db.pool.query("update products set status = 'published' where id = 4");
    await waitFor("filter flips", equalsOracle(backend, collection), 20_000);
    expect((await docsOf(backend, collection)).has("2")).toBe(false);
  });

  it("a child moved to another parent re-renders both (the old one from the old row)", async () => {
    await db.pool.query("update variants set product_id = 1 where id = 70");
    await waitFor("child moved", equalsOracle(backend, collection), 20_000);
    expect((await docsOf(backend, collection)).get("7")?.variants).toEqual([]);
    await db.pool.query("delete from variants where id = 20");
    await db.pool.query("update products set status = 'published' where id = 2");
    await waitFor("child deleted", equalsOracle(backend, collection), 20_000);
    expect((await docsOf(backend, collection)).get("2")?.variants).toEqual([]);
  });

  it("lookup, child and the child's lookup changes re-render the roots they touch", async () => {
    await db.pool.query("update brands set name = 'Acme Corp' where id = 1");
    await db.pool.query("update colors set label = 'Crimson' where code = 'red'");
    // a child moved from product 6 to product 7, one deleted, one inserted
    await db.pool.query("update variants set product_id = 7 where id = 60");
    await db.pool.query("delete from variants where id = 11");
    await db.pool.query("insert into variants values (90, 3, 'L-1', 'blu', 1, 4)");
    // a lookup row deleted, and its key reused
    await db.pool.query("delete from brands where id = 2");
    await waitFor("relation changes", equalsOracle(backend, collection), 20_000);
    const docs = await docsOf(backend, collection);
    expect(docs.get("1")?.brand_name).toBe("Acme Corp");
    // every queued fan-out is worked off (the row goes after its last page)
    await waitFor(
      "fan-out queue empty",
      async () => (await queuedFanoutCount(db.pool, jobId)) === 0,
    );
    expect(JSON.stringify(docs.get("7")?.variants)).toContain("S-1");
  });

  it("a truncated lookup table re-renders every root", async () => {
    await db.pool.query("truncate colors");
    await waitFor("colors gone", equalsOracle(backend, collection), 20_000);
    await db.pool.query("insert into colors values ('red', 'Red again')");
    await waitFor("colors back", equalsOracle(backend, collection), 20_000);
  });
});
