import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TypesenseBackend } from "../../src/typesense/index.js";
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

// Issue 19 point 13: rows without a document id are bounded twice over: they
// count toward the applier's flush bound (a flood of them is flushed in
// batches like good rows), and each error kind is ONE open dead letter with a
// count and a few sample keys, not one letter per row and not one for all.
const db = useTestDatabase();
const ts = useTypesense();

describe("CDC rows without a document id", () => {
  let backend: TypesenseBackend;
  let stream: RunningStream;
  let coll: string;
  let jobId: string;

  beforeAll(async () => {
    backend = backendFor(ts.url, ts.apiKey);
    coll = ts.uniqueName("noid");
    // the document id is the nullable `sku` (a column named `id` would collide with
    // it); FULL identity lets deletes carry it
    await db.pool.query(`
      create table noid (pk int primary key, sku text unique, v text not null);
      alter table noid replica identity full;
    `);
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "noid",
      table: "noid",
      collection: coll,
      idColumn: "sku",
    });
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "noid",
      backend,
      log: silentLogger(),
      cdc: { flush_max_docs: 100, flush_interval_ms: 20, heartbeat_ms: 200 },
    });
    await waitFor(
      "streaming",
      async () => (await streamRow(db.pool, "noid"))?.status === "streaming",
    );
  });
  afterAll(async () => {
    await stream?.stop();
    await backend?.close();
  });

  const letters = async () =>
    (
      await db.pool.query<{
        doc_id: string | null;
        error_message: string;
        payload: { count: number; sample_keys: string[] };
        status: string;
      }>(
        `select doc_id, error_message, payload, status from typesense_dead_letters
          where job_id = $1 order by first_failed_at, error_message`,
        [jobId],
      )
    ).rows;

  it("count toward the flush bound and become one dead letter per error kind with a count and sample keys", async () => {
    const before = stream.checkpoints.length;
    // one transaction: 1,000 rows without an id among 10 good ones
    await db.pool.query(
      `insert into noid
       select g, case when g % 101 = 0 then 'sku' || g end, 'v ' || g
         from generate_series(1, 1010) g`,
    );
    await waitFor("good docs", async () => (await docsOf(backend, coll)).size === 10);
    await waitFor("the letter", async () => (await letters())[0]?.payload.count === 1000);
    // the bad rows were flushed in batches of flush_max_docs, not held to the commit
    const withFailures = stream.checkpoints
      .slice(before)
      .filter((c) => c.rejections.length > 0 && c.lsn === null);
    expect(withFailures.length).toBeGreaterThanOrEqual(5);
    // a second kind (deletes whose identity lacks the id) and more of the first
    await db.pool.query("delete from noid where pk in (1, 2, 3)");
    await db.pool.query("insert into noid values (5000, null, 'x'), (5001, null, 'y')");
    await waitFor("both kinds", async () => {
      const l = await letters();
      return l.length === 2 && l[0]!.payload.count === 1002 && l[1]?.payload.count === 3;
    });
    const [rows, deletes] = await letters();
    expect(rows).toMatchObject({
      doc_id: null,
      status: "open",
      error_message: "the row carries no document id",
    });
    expect(rows!.payload.sample_keys).toHaveLength(5);
    expect(rows!.payload.sample_keys[0]).toMatch(/^pk=\d+,sku=NULL/);
    expect(deletes).toMatchObject({
      doc_id: null,
      status: "open",
      error_message: "the delete carries no document id",
    });
    expect(deletes!.payload.sample_keys).toEqual([
      expect.stringMatching(/^pk=1,/),
      expect.stringMatching(/^pk=2,/),
      expect.stringMatching(/^pk=3,/),
    ]);
  }, 60_000);
});
