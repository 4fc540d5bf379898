import { afterAll, beforeAll, expect, it } from "vitest";
import type { TypesenseBackend } from "../../src/typesense/index.js";
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

/**
 * Issue 18 point 2: a commit is flushed as soon as the writer is idle; changes batch only
 * while a write is in flight. The flush timer and the heartbeat are set to a minute, so
 * neither can be what writes the changes here (no wall-clock assertions: only whether
 * and in how many imports the changes arrive).
 */
const db = useTestDatabase();
const ts = useTypesense();

describeEmulatorOnly("CDC flush when the writer is idle", () => {
  let backend: TypesenseBackend;
  let stream: RunningStream;
  let coll: string;

  beforeAll(async () => {
    backend = backendFor(ts.url, ts.apiKey);
    coll = ts.uniqueName("idle");
    await db.pool.query("create table idle (id int primary key, title text not null)");
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    await insertJob(db.pool, {
      profileId: profile,
      client: "idle",
      table: "idle",
      collection: coll,
    });
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "idle",
      backend,
      log: silentLogger(),
      cdc: { flush_interval_ms: 60_000, heartbeat_ms: 60_000 },
    });
    await waitFor(
      "streaming",
      async () => (await streamRow(db.pool, "idle"))?.status === "streaming",
    );
  });

  afterAll(async () => {
    ts.emulator?.faults.clear();
    await stream?.stop();
  });

  it("writes and checkpoints a single committed change without waiting for the flush timer", async () => {
    await db.pool.query("insert into idle values (1, 'one')");
    await waitFor("doc 1 in Typesense", async () => (await docsOf(backend, coll)).has("1"), 10_000);
    // the checkpoint follows the write (durability order), also without the timer
    await waitFor("a checkpoint that applied it", () =>
      stream.checkpoints.some((c) => c.applied > 0),
    );
  });

  it("coalesces the transactions committed while a write is in flight into one write", async () => {
    const emulator = ts.emulator!;
    // only the next import is slow: it stays in flight while the next transactions commit
    emulator.faults.addLatency({ path: "*/documents/import", ms: 1500, times: 1 });
    const s0 = emulator.stats();
    await db.pool.query("insert into idle values (10, 'ten')");
    // the slowed import of row 10 has reached the emulator: a write is in flight
    await waitFor("the slowed import", () => emulator.stats().requests > s0.requests, 10_000);
    for (let i = 11; i <= 14; i++) {
      await db.pool.query("insert into idle values ($1, 'later')", [i]);
    }
    await waitFor(
      "docs 10-14 in Typesense",
      async () => {
        const docs = await docsOf(backend, coll);
        return [10, 11, 12, 13, 14].every((i) => docs.has(String(i)));
      },
      15_000,
    );
    // one import for row 10, ONE for the four transactions that committed during it
    expect(emulator.stats().importRequests - s0.importRequests).toBe(2);
  });
});

describeEmulatorOnly("CDC catch-up with the idle flush", () => {
  const TXNS = 200;
  const FLUSH_MAX = 10;
  let backend: TypesenseBackend;
  let coll: string;
  let stream: RunningStream | undefined;
  const start = () =>
    runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "catchup",
      backend,
      log: silentLogger(),
      // no timer and no heartbeat flush: only the batch limit and the idle rule write here
      cdc: { flush_max_docs: FLUSH_MAX, flush_interval_ms: 60_000, heartbeat_ms: 60_000 },
    });
  const streaming = () =>
    waitFor("streaming", async () => (await streamRow(db.pool, "catchup"))?.status === "streaming");

  beforeAll(async () => {
    backend = backendFor(ts.url, ts.apiKey);
    coll = ts.uniqueName("catchup");
    await db.pool.query("create table catchup (id int primary key, title text not null)");
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    await insertJob(db.pool, {
      profileId: profile,
      client: "catchup",
      table: "catchup",
      collection: coll,
    });
    // set the slot up, then stop reading it: the backlog accumulates
    stream = start();
    await streaming();
    await stream.stop();
  });

  afterAll(async () => {
    await stream?.stop();
  });

  it("writes a backlog of small transactions in full catch-up batches, not one write per transaction", async () => {
    for (let i = 1; i <= TXNS; i++) {
      await db.pool.query("insert into catchup values ($1, 'backlog')", [i]);
    }
    // every transaction is over a second old when the stream reads it: catching up
    await new Promise((r) => setTimeout(r, 1500));
    const s0 = ts.emulator!.stats();
    stream = start();
    await waitFor(
      "the backlog in Typesense",
      async () => (await docsOf(backend, coll)).size === TXNS,
      15_000,
    );
    // catch-up batches are 4 x flush_max_docs: 200 changes in exactly 5 imports of 40
    // (an idle flush per commit would have written the first transaction alone, and so on)
    expect(ts.emulator!.stats().importRequests - s0.importRequests).toBe(TXNS / (FLUSH_MAX * 4));
  });
});
