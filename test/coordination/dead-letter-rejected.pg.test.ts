import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { createSecretBox, createTypesenseClients } from "../../src/control/index.js";
import { retryDeadLetter } from "../../src/coordination/dead-letter-retry.js";
import { ownerMark } from "../../src/typesense/index.js";
import { insertJob } from "../fullsync/helpers.js";
import { collectionDocuments, useEngineFixture } from "../fullsync/support.js";
import { silentLogger } from "../support/log.js";

/*
 * A retry Typesense rejects again (src/coordination/dead-letter-retry.ts,
 * "Typesense rejects -> letter stays open, attempts + 1, new error stored"):
 * the letter is not resolved and not lost, it records the new failure, and a
 * retry after the row is fixed resolves it. The collection declares `code` as
 * int32 (made for the job, with its mark) while the column is text: a row
 * whose code is not a number is rejected, as in test/cdc/faults.pg.test.ts.
 */

const fx = useEngineFixture({ owner: "test", windowSize: 10 });
const { db, source, ts } = fx;
const clients = createTypesenseClients(silentLogger());
let jobId: string;
let collection: string;

beforeAll(async () => {
  await source.pool.query(`
    create table coded (id int primary key, title text not null, code text);
    insert into coded values (1, 'good', '7'), (2, 'bad', 'not a number'), (3, 'good too', null);
  `);
  collection = ts.uniqueName("dl_rejected");
  jobId = await insertJob(db.pool, {
    collection,
    table: "coded",
    baseUrl: ts.url,
    apiKey: ts.apiKey,
    queryable: ["title"],
  });
  await fx.backend.createCollection({
    name: collection,
    fields: [
      { name: "title", type: "string" },
      { name: "code", type: "int32", optional: true },
    ],
    metadata: ownerMark(jobId),
  });
  // A full sync would refuse the mismatched collection; the letter is made the way
  // the stream makes one (origin cdc, the payload Typesense refused).
  await fx.backend.importDocuments(
    collection,
    [
      { id: "1", title: "good", code: 7 },
      { id: "3", title: "good too" },
    ],
    { action: "upsert" },
  );
  await db.pool.query(
    `insert into typesense_dead_letters (job_id, origin, doc_id, operation, payload, error_code, error_message)
     values ($1, 'cdc', '2', 'upsert', $2, 400, 'first rejection')`,
    [jobId, JSON.stringify({ id: "2", title: "bad", code: "not a number" })],
  );
});
afterAll(async () => {
  await clients.close();
});

const deps = () => ({
  control: db.pool,
  source: () => source.pool,
  box: createSecretBox(""),
  clients,
  cdcActive: false,
});

async function letterOf(docId: string) {
  const r = await db.pool.query<{
    id: string;
    status: string;
    attempts: number;
    error_code: number | null;
    error_message: string;
  }>("select * from typesense_dead_letters where job_id = $1 and doc_id = $2", [jobId, docId]);
  expect(r.rows).toHaveLength(1);
  return r.rows[0]!;
}

describe("dead-letter retry that Typesense rejects again", () => {
  it("keeps the letter open with attempts + 1 and the new error; a retry after the fix resolves it", async () => {
    const before = await letterOf("2");
    expect(before.status).toBe("open");
    expect([...(await collectionDocuments(fx.backend, collection)).keys()].sort()).toEqual([
      "1",
      "3",
    ]);

    await source.pool.query("update coded set code = 'still not a number' where id = 2");
    const again = await retryDeadLetter(deps(), before.id, UNSCOPED);
    expect(again).toMatchObject({ outcome: "rejected", code: 400 });
    const stored = await letterOf("2");
    expect(stored).toMatchObject({
      status: "open",
      attempts: before.attempts + 1,
      error_code: 400,
    });
    expect(stored.error_message).toMatch(/code/);
    expect((await collectionDocuments(fx.backend, collection)).has("2")).toBe(false);

    await source.pool.query("update coded set code = null where id = 2");
    const fixed = await retryDeadLetter(deps(), before.id, UNSCOPED);
    expect(fixed).toMatchObject({ outcome: "resolved", action: "written" });
    expect((await letterOf("2")).status).toBe("resolved");
    expect((await collectionDocuments(fx.backend, collection)).get("2")).toMatchObject({
      title: "bad",
    });
  });
});
