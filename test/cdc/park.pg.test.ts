import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCdcSupervisor } from "../../src/cdc/supervisor.js";
import { fullSyncGate } from "../../src/cli/wiring.js";
import { createWatermarkRegistry } from "../../src/coordination/watermarks.js";
import { createFullSyncEngine } from "../../src/fullsync/index.js";
import { createScheduler } from "../../src/scheduler/index.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { expectCollectionEqualsTable } from "../fullsync/support.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { backendFor, cdcConfig, insertJob, insertProfile, waitFor } from "./helpers.js";

// Issue 19 point 10: a job whose writes always fail (here: a wrong backend
// key) is parked after its retry budget instead of holding its client's whole
// stream in backoff; the other job keeps flowing and the slot advances. Fixing
// the key lets the probe unpark it, and it catches up by itself through a
// watermarked join resync.
const db = useTestDatabase();
const ts = useTypesense();
const CLIENT = "park_c";
const backends = new Map<string, TypesenseBackend>();
/** Key per profile: the test "fixes" the bad profile by changing its entry. */
const keys = new Map<string, string>();
let good: TypesenseBackend;

beforeAll(() => {
  good = backendFor(ts.url, ts.apiKey);
});
afterAll(async () => {
  await good.close();
  for (const b of backends.values()) await b.close();
});

/** The backend of a profile as configured now (a changed key gives a new client). */
async function resolve(profileId: string): Promise<TypesenseBackend> {
  const key = keys.get(profileId) ?? ts.apiKey;
  const k = `${profileId}:${key}`;
  let b = backends.get(k);
  if (!b) {
    b = backendFor(ts.url, key);
    backends.set(k, b);
  }
  return b;
}

async function table(name: string, n: number) {
  await db.pool.query(`create table ${name} (id int primary key, v text not null)`);
  await db.pool.query(`insert into ${name} select g, 'v1 ' || g from generate_series(1, $1) g`, [
    n,
  ]);
}

async function change(name: string, round: number) {
  await db.pool.query(`update ${name} set v = $1 || id where id % 3 = 0`, [`r${round} `]);
  await db.pool.query(`delete from ${name} where id = $1`, [round]);
  await db.pool.query(`insert into ${name} values ($1, $2)`, [1000 + round, `new ${round}`]);
}

const jobRow = async (id: string) =>
  (
    await db.pool.query<{
      cdc_parked_at: Date | null;
      cdc_parked_error: string | null;
      sync_health: string;
    }>(
      "select cdc_parked_at, cdc_parked_error, sync_health from typesense_sync_job_status where id = $1",
      [id],
    )
  ).rows[0]!;

/** Whether the slot confirmed everything up to `lsn` (fixed: WAL is cluster-wide and moves on). */
const confirmedPast = (lsn: string) => async () =>
  (
    await db.pool.query<{ ok: boolean }>(
      `select confirmed_flush_lsn >= $1::pg_lsn as ok from pg_replication_slots
        where slot_name = 't_park_park_c'`,
      [lsn],
    )
  ).rows[0]?.ok;
const currentLsn = async () =>
  (await db.pool.query<{ l: string }>("select pg_current_wal_lsn()::text as l")).rows[0]!.l;

describe("a CDC job whose writes keep failing", () => {
  it("is parked with its error while the other job of the client stays fresh and the slot advances; fixed, it catches up with every row", async () => {
    await table("park_good", 40);
    await table("park_bad", 40);
    const goodProfile = await insertProfile(db.pool, ts.url, ts.apiKey);
    const badProfile = await insertProfile(db.pool, ts.url, "wrong-key");
    keys.set(badProfile, "wrong-key");
    const goodCollection = ts.uniqueName("park_good");
    const badCollection = ts.uniqueName("park_bad");
    const goodJob = await insertJob(db.pool, {
      profileId: goodProfile,
      client: CLIENT,
      table: "park_good",
      collection: goodCollection,
    });
    const badJob = await insertJob(db.pool, {
      profileId: badProfile,
      client: CLIENT,
      table: "park_bad",
      collection: badCollection,
    });
    const watermarks = createWatermarkRegistry();
    const cdc = createCdcSupervisor({
      control: db.pool,
      pools: { source: () => db.pool, sourceUrl: () => db.url, sourceNames: () => [CLIENT] },
      cdc: cdcConfig({ slot_prefix: "t_park", park_after_ms: 400, park_probe_ms: 200 }),
      backendFor: resolve,
      watermarks,
      log: silentLogger(),
      instanceId: "park-test",
      pollMs: 100,
      leaderPollMs: 100,
      streamOptions: { jobsPollMs: 150, statsIntervalMs: 100, backoff: { baseMs: 20, maxMs: 100 } },
    });
    const engine = createFullSyncEngine({
      control: db.pool,
      source: () => db.pool,
      backendFor: resolve,
      owner: "park-test",
      log: silentLogger(),
      importMaxAttempts: 2,
      importRetryBaseMs: 1,
      sagaBackupEnabled: false,
      leaseTtlMs: 30_000,
      windowSize: 10,
      watermarks,
    });
    const scheduler = createScheduler({
      control: db.pool,
      engine,
      log: silentLogger(),
      enabled: true,
      pollMs: 50,
      maxConcurrentRuns: 2,
      listen: false,
      canRun: fullSyncGate(true, (c) => cdc.mayRunFullSyncs(c)),
    });
    const stop = new AbortController();
    const done = Promise.all([cdc.run(stop.signal), scheduler.run(stop.signal)]);
    const matches = (tbl: string, collection: string) => () =>
      expectCollectionEqualsTable(good, collection, db.pool, tbl).then(() => true);
    try {
      await waitFor("the good job's resync", matches("park_good", goodCollection), 90_000);
      await change("park_good", 1);
      await change("park_bad", 1);
      await waitFor(
        "the bad job parked",
        async () => (await jobRow(badJob)).cdc_parked_at !== null,
        30_000,
      );
      const parked = await jobRow(badJob);
      expect(parked.cdc_parked_error).toMatch(/401|forbidden|api-key/i);
      expect(parked.sync_health).toBe("failing");
      // the other job flows on, and the slot moves past the parked job's changes
      await change("park_good", 2);
      await change("park_bad", 2);
      const afterChanges = await currentLsn();
      await waitFor("good docs fresh", matches("park_good", goodCollection), 20_000);
      await waitFor("the slot's confirmed LSN advanced", confirmedPast(afterChanges), 20_000);
      expect((await jobRow(goodJob)).cdc_parked_at).toBeNull();
      expect((await jobRow(badJob)).cdc_parked_at).not.toBeNull();
      // the key is fixed: the probe unparks the job, and its resync catches it up
      keys.set(badProfile, ts.apiKey);
      await waitFor("the bad job caught up", matches("park_bad", badCollection), 90_000);
      await change("park_bad", 3);
      await waitFor("the bad job streams again", matches("park_bad", badCollection), 20_000);
      const after = await jobRow(badJob);
      expect(after.cdc_parked_at).toBeNull();
      expect(after.cdc_parked_error).toBeNull();
    } finally {
      stop.abort();
      await done;
    }
  }, 240_000);
});
