import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { createSecretBox, createTypesenseClients } from "../../src/control/index.js";
import { retryDeadLetter } from "../../src/coordination/dead-letter-retry.js";
import { oracleDocuments, SHOP_DDL, SHOP_SPEC } from "../documents/spec/fixture.js";
import { insertJob } from "../fullsync/helpers.js";
import { collectionDocuments, useEngineFixture } from "../fullsync/support.js";
import { silentLogger } from "../support/log.js";

/*
 * Dead-letter retry of a job with a document spec writes the spec's document
 * (its byIds statement), not the mapper's: a letter's root is re-rendered with
 * its lookup and children as they are now, and a root outside the filter is
 * deleted.
 */

const fx = useEngineFixture({ owner: "test", windowSize: 10 });
const { db, source, ts, engine } = fx;
const clients = createTypesenseClients(silentLogger());
let jobId: string;
let collection: string;

beforeAll(async () => {
  await source.pool.query(SHOP_DDL);
  collection = ts.uniqueName("dl_shop");
  jobId = await insertJob(db.pool, {
    collection,
    table: "products",
    baseUrl: ts.url,
    apiKey: ts.apiKey,
    queryable: ["title"],
  });
  await db.pool.query("update typesense_sync_jobs set document = $2 where id = $1", [
    jobId,
    SHOP_SPEC,
  ]);
  expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
});
afterAll(async () => {
  await clients.close();
});

async function letter(docId: string): Promise<string> {
  const r = await db.pool.query<{ id: string }>(
    `insert into typesense_dead_letters (job_id, origin, doc_id, operation, payload, error_code, error_message)
     values ($1, 'full_sync', $2, 'upsert', $3, 400, 'rejected') returning id`,
    [jobId, docId, JSON.stringify({ id: docId, title: "stored payload" })],
  );
  return r.rows[0]!.id;
}

const deps = () => ({
  control: db.pool,
  source: () => source.pool,
  box: createSecretBox(""),
  clients,
  cdcActive: false,
});

describe("dead-letter retry of a spec job", () => {
  it("writes the root's spec document as it is now (lookup and children included)", async () => {
    await source.pool.query("update brands set name = 'Acme Corp' where id = 1");
    await source.pool.query("update variants set sku = 'C-1 new' where id = 11");
    const r = await retryDeadLetter(deps(), await letter("1"), UNSCOPED);
    expect(r).toMatchObject({ outcome: "resolved", action: "written" });
    const doc = (await collectionDocuments(fx.backend, collection)).get("1");
    expect(doc).toEqual((await oracleDocuments(source.pool)).get("1"));
    expect(doc).toMatchObject({ brand_name: "Acme Corp" });
  });

  it("deletes the document of a root that left the filter", async () => {
    await source.pool.query("update products set status = 'draft' where id = 7");
    const r = await retryDeadLetter(deps(), await letter("7"), UNSCOPED);
    expect(r).toMatchObject({ outcome: "resolved", action: "deleted" });
    expect((await collectionDocuments(fx.backend, collection)).has("7")).toBe(false);
  });
});
