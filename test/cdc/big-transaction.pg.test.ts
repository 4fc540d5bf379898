import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLsn } from "../../src/cdc/lsn.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import {
  backendFor,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  streamRow,
  waitFor,
} from "./helpers.js";

/**
 * One transaction of ROWS rows (issue 7: "a 1M-row single transaction with
 * bounded memory"), streamed into the null-sink emulator (it stores nothing, so
 * the process's memory is the stream's). The applier writes it in chunks of
 * flush_max_docs and acknowledges only at the commit; the heap must stay far
 * below the transaction's size.
 */
const ROWS = 1_000_000;
const PAD = 200; // bytes of text per row: ~230 MB of row text in the transaction
/** Live heap (after a full GC) may grow by at most this while the transaction streams. */
const LIVE_HEAP_BOUND = 64 * 1024 * 1024;
const RSS_BOUND = 256 * 1024 * 1024;

// A full GC on demand: the heap that survives it is what the stream holds
// (heapUsed alone mostly measures garbage not collected yet).
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const db = useTestDatabase();
const ts = useTypesense({ nullSink: true });

describe(`a ${ROWS}-row single transaction`, () => {
  let stream: RunningStream;
  beforeAll(async () => {
    await db.pool.query("create table big (id int primary key, pad text, n int)");
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    await insertJob(db.pool, {
      profileId: profile,
      client: "big",
      table: "big",
      collection: ts.uniqueName("big"),
    });
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "big",
      backend: backendFor(ts.url, ts.apiKey),
      log: silentLogger(),
    });
    await waitFor(
      "streaming",
      async () => (await streamRow(db.pool, "big"))?.status === "streaming",
    );
  });
  afterAll(async () => {
    await stream?.stop();
  });

  it("is applied in chunks with bounded memory and acknowledged at its commit", async () => {
    gc();
    const base = process.memoryUsage();
    let peakLive = base.heapUsed;
    let peakRss = base.rss;
    let samples = 0;
    const rssSampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const liveSampler = setInterval(() => {
      gc();
      samples++;
      peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
    }, 250);
    try {
      const before = ts.emulator?.stats().importedLines ?? 0;
      const importsBefore = ts.emulator?.stats().importRequests ?? 0;
      const r = await db.pool.query<{ lsn: string }>(
        `begin;
         set local synchronous_commit = on;
         insert into big select g, repeat('x', ${PAD}), g from generate_series(1, ${ROWS}) g;
         commit;`,
      );
      void r;
      const end = (await db.pool.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn"))
        .rows[0]!.lsn;
      // acknowledged past the commit: every row was confirmed by Typesense first
      await waitFor(
        "commit acknowledged",
        async () => {
          const s = await streamRow(db.pool, "big");
          return s?.confirmed_lsn && parseLsn(s.confirmed_lsn) >= parseLsn(end);
        },
        240_000,
      );
      expect((ts.emulator?.stats().importedLines ?? ROWS) - before).toBeGreaterThanOrEqual(ROWS);
      // written in chunks (flush_max_docs, 4x while catching up), not at once
      if (ts.emulator) {
        const imports = ts.emulator.stats().importRequests - importsBefore;
        expect(imports).toBeGreaterThanOrEqual(ROWS / 4000);
      }
    } finally {
      clearInterval(rssSampler);
      clearInterval(liveSampler);
    }
    const liveGrowth = peakLive - base.heapUsed;
    const rssGrowth = peakRss - base.rss;
    console.log(
      `big transaction: live heap +${(liveGrowth / 1048576).toFixed(0)} MB (${samples} samples), RSS +${(rssGrowth / 1048576).toFixed(0)} MB (peak ${(peakRss / 1048576).toFixed(0)} MB)`,
    );
    expect(samples).toBeGreaterThan(4);
    expect(liveGrowth).toBeLessThan(LIVE_HEAP_BOUND);
    expect(rssGrowth).toBeLessThan(RSS_BOUND);
  });
});
