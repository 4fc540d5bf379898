import { expect, it } from "vitest";
import { sharedIntervals } from "../../src/cdc/shared-interval.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { describeEmulatorOnly, useTypesense } from "../support/typesense.js";
import {
  backendFor,
  docsOf,
  insertJob,
  insertProfile,
  runStream,
  streamRow,
  waitFor,
} from "./helpers.js";

/**
 * Many source clients on one instance (issue 18 point 4, bench/many-jobs.ts): the streams'
 * periodic timers (time flush, heartbeat, stats, parked probe, jobs poll) share one
 * interval per period in the process, so 20 streams are not 20 x 20 flush wake-ups a
 * second. Counts of subscribers, no times.
 */
const db = useTestDatabase();
const ts = useTypesense();

describeEmulatorOnly("CDC stream timers shared between streams", () => {
  it("two streams run their timers on one interval per period, still write their changes, and leave none behind", async () => {
    const backend = backendFor(ts.url, ts.apiKey);
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    const clients = ["share_a", "share_b"];
    const colls = clients.map((c) => ts.uniqueName(c));
    for (const [i, c] of clients.entries()) {
      await db.pool.query(`create table ${c} (id int primary key, title text not null)`);
      await insertJob(db.pool, { profileId: profile, client: c, table: c, collection: colls[i]! });
    }
    const before = sharedIntervals();
    const streams = clients.map((client) =>
      runStream({
        control: db.pool,
        source: db.pool,
        sourceUrl: db.url,
        client,
        backend,
        log: silentLogger(),
        // a flush period of its own, so only these two streams subscribe to it
        cdc: { flush_interval_ms: 37, heartbeat_ms: 60_000, slot_prefix: `t_${client}` },
      }),
    );
    try {
      for (const c of clients) {
        await waitFor(
          "streaming",
          async () => (await streamRow(db.pool, c))?.status === "streaming",
        );
      }
      expect(before.has(37)).toBe(false);
      // both streams' flush timers on the one 37 ms interval
      expect(sharedIntervals().get(37)).toBe(2);
      for (const [i, c] of clients.entries()) {
        await db.pool.query(`insert into ${c} values (1, 'one')`);
        await waitFor("the doc", async () => (await docsOf(backend, colls[i]!)).has("1"), 10_000);
      }
    } finally {
      for (const s of streams) await s.stop();
    }
    // a stopped stream leaves no timer running
    expect(sharedIntervals().has(37)).toBe(false);
  });
});
