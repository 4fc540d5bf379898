import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLsn } from "../../src/cdc/lsn.js";
import { ownerMark, type TypesenseBackend } from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { describeEmulatorOnly, useTypesense } from "../support/typesense.js";
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

const db = useTestDatabase();
const ts = useTypesense();

async function slotFlush(): Promise<string> {
  const r = await db.pool.query<{ l: string }>(
    "select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = 't_cdc_faulty'",
  );
  return r.rows[0]!.l;
}

describe("CDC stream under faults", () => {
  let backend: TypesenseBackend;
  let stream: RunningStream;
  let coll: string;
  let bigColl: string;
  let jobId: string;

  beforeAll(async () => {
    backend = backendFor(ts.url, ts.apiKey);
    coll = ts.uniqueName("faulty");
    bigColl = ts.uniqueName("big");
    await db.pool.query(`
      create table faulty (id int primary key, title text not null, code text);
      create table big (id int primary key, v text not null);
    `);
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "faulty",
      table: "faulty",
      collection: coll,
    });
    // The collection exists already (made for the job: it carries the job's
    // mark) and declares `code` as int32: rows whose code is not a number are
    // rejected by Typesense, one by one.
    await backend.createCollection({
      name: coll,
      fields: [
        { name: "title", type: "string" },
        { name: "code", type: "int32", optional: true },
      ],
      metadata: ownerMark(jobId),
    });
    await insertJob(db.pool, {
      profileId: profile,
      client: "faulty",
      table: "big",
      collection: bigColl,
    });
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "faulty",
      backend,
      log: silentLogger(),
      cdc: { flush_max_docs: 500, flush_interval_ms: 20, heartbeat_ms: 200 },
    });
    await waitFor(
      "streaming",
      async () => (await streamRow(db.pool, "faulty"))?.status === "streaming",
    );
  });
  afterAll(async () => {
    await stream?.stop();
  });

  it("a rejected document becomes a dead letter and the stream goes on; fixing the row resolves it", async () => {
    await db.pool.query(
      "insert into faulty values (1, 'good', null), (2, 'bad', 'not a number'), (3, 'good too', null)",
    );
    await waitFor("good docs", async () => (await docsOf(backend, coll)).size === 2);
    const letter = await waitFor("dead letter", async () => {
      const r = await db.pool.query(
        "select * from typesense_dead_letters where job_id = $1 and doc_id = '2'",
        [jobId],
      );
      return r.rows[0];
    });
    expect(letter).toMatchObject({
      origin: "cdc",
      operation: "upsert",
      status: "open",
      error_code: 400,
    });
    expect(letter.error_message).toMatch(/code/);
    expect(letter.payload).toMatchObject({ id: "2", title: "bad", code: "not a number" });
    // the stream is not stuck behind the rejected doc
    await db.pool.query("insert into faulty values (4, 'later', null)");
    await waitFor("later doc", async () => (await docsOf(backend, coll)).has("4"));
    await db.pool.query("update faulty set code = null where id = 2");
    await waitFor("fixed doc", async () => (await docsOf(backend, coll)).has("2"));
    const after = await waitFor("letter resolved", async () => {
      const r = await db.pool.query("select status from typesense_dead_letters where doc_id = '2'");
      return r.rows[0]?.status === "resolved" ? r.rows[0] : undefined;
    });
    expect(after.status).toBe("resolved");
  });

  describeEmulatorOnly("Typesense unavailable", () => {
    it("holds the slot, reports backoff and growing lag, then applies everything", async () => {
      const emulator = ts.emulator!;
      await db.pool.query("insert into faulty values (10, 'before outage', null)");
      await waitFor("pre-outage doc", async () => (await docsOf(backend, coll)).has("10"));
      await emulator.faults.goDown();
      try {
        await outage();
      } finally {
        if (emulator.faults.isDown) await emulator.faults.comeBack();
      }
    });

    async function outage() {
      const emulator = ts.emulator!;
      await db.pool.query("insert into faulty values (11, 'during outage', null)");
      await db.pool.query("update faulty set title = 'changed during outage' where id = 10");
      await db.pool.query("delete from faulty where id = 1");
      const down = await waitFor("backoff reported", async () => {
        const r = await streamRow(db.pool, "faulty");
        return r?.status === "backoff" && Number(r.lag_ms) > 300 ? r : undefined;
      });
      expect(down.last_error).toBeTruthy();
      const heldAt = await slotFlush();
      // lag keeps growing while nothing can be confirmed
      await waitFor("lag grows", async () => {
        const r = await streamRow(db.pool, "faulty");
        return Number(r?.lag_ms) > Number(down.lag_ms) + 600;
      });
      // meanwhile (3+ heartbeat periods) nothing was acknowledged past the unconfirmed changes
      expect(await slotFlush()).toBe(heldAt);
      await emulator.faults.comeBack();
      await waitFor("caught up", async () => {
        const d = await docsOf(backend, coll);
        return d.has("11") && !d.has("1") && d.get("10")?.title === "changed during outage";
      });
      await waitFor(
        "streaming again",
        async () => (await streamRow(db.pool, "faulty"))?.status === "streaming",
      );
      await waitFor("slot moves again", async () => (await slotFlush()) !== heldAt);
    }

    it("a 503 burst is retried without losing or reordering changes", async () => {
      ts.emulator!.faults.failNext({ path: "*/documents/import", status: 503, times: 3 });
      await db.pool.query("insert into faulty values (20, 'v1', null)");
      await db.pool.query("update faulty set title = 'v2' where id = 20");
      await db.pool.query("update faulty set title = 'v3' where id = 20");
      await waitFor(
        "final version",
        async () => (await docsOf(backend, coll)).get("20")?.title === "v3",
      );
    });
  });

  it("a transaction larger than flush_max_docs is written in chunks and acknowledged at commit", async () => {
    // Without idle heartbeats: a heartbeat emitted while the transaction runs has
    // a WAL position inside it and is (safely) acknowledged before its commit.
    await stream.stop();
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "faulty",
      backend,
      log: silentLogger(),
      cdc: { flush_max_docs: 500, flush_interval_ms: 20, heartbeat_ms: 3_600_000 },
    });
    await waitFor(
      "streaming again",
      async () => (await streamRow(db.pool, "faulty"))?.status === "streaming",
    );
    const before = stream.checkpoints.length;
    const s0 = ts.emulator!.stats();
    const c = await db.pool.connect();
    let start: bigint;
    let inside: bigint;
    try {
      await c.query("begin");
      const lsn = async () =>
        parseLsn(
          (await c.query<{ l: string }>("select pg_current_wal_insert_lsn()::text as l")).rows[0]!
            .l,
        );
      start = await lsn();
      await c.query("insert into big select g, 'row ' || g from generate_series(1, 20000) g");
      inside = await lsn(); // after every row, before the commit record
      await c.query("commit");
    } finally {
      c.release();
    }
    await waitFor(
      "all rows",
      async () => (await backend.getCollection(bigColl))?.num_documents === 20000,
      60_000,
    );
    // wait for the commit's checkpoint
    await waitFor("commit checkpoint", () =>
      stream.checkpoints.slice(before).some((x) => x.lsn !== null && x.lsn > inside),
    );
    // written in chunks: flush_max_docs (500), at most 4x that while catching up
    const s1 = ts.emulator!.stats();
    const imports = s1.importRequests - s0.importRequests;
    expect(imports).toBeGreaterThanOrEqual(20000 / 2000);
    expect((s1.importedLines - s0.importedLines) / imports).toBeLessThanOrEqual(2000);
    // never acknowledged inside the transaction: only at (or after) its commit
    const acked = stream.checkpoints.slice(before).flatMap((x) => (x.lsn === null ? [] : [x.lsn]));
    expect(acked.filter((l) => l > start && l <= inside)).toEqual([]);
  });
});
