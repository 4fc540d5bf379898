import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWatermarkRegistry } from "../../src/coordination/watermarks.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import {
  backendFor,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  waitFor,
} from "./helpers.js";

// Control and source are the same database (logical replication on it).
const db = useTestDatabase();
const ts = useTypesense();
let backend: TypesenseBackend;
let stream: RunningStream | undefined;

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
});
afterAll(async () => {
  await stream?.stop();
  await backend.close();
});

const appliedLsn = async (jobId: string) =>
  (
    await db.pool.query<{ lsn: string | null }>(
      "select cdc_applied_lsn::text as lsn from typesense_sync_jobs where id = $1",
      [jobId],
    )
  ).rows[0]?.lsn ?? null;

describe("a job cleared to re-join its stream (retarget)", () => {
  // A retarget sets cdc_applied_lsn = null so the stream's NEXT setup joins the
  // job with its new shape and resyncs it. The session still running with the
  // old shape keeps checkpointing until its job poll notices; it must not mark
  // the job joined again, or the next setup would skip the resync.
  it("keeps cdc_applied_lsn null through the running session's checkpoints", async () => {
    await db.pool.query("create table rj_items (id int primary key, v text not null)");
    await db.pool.query("insert into rj_items select g, 'v' || g from generate_series(1, 5) g");
    const profileId = await insertProfile(db.pool, ts.url, ts.apiKey);
    const jobId = await insertJob(db.pool, {
      profileId,
      client: "rj",
      table: "rj_items",
      collection: ts.uniqueName("rj_items"),
    });
    const registry = createWatermarkRegistry();
    const s = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "rj",
      backend,
      log: silentLogger(),
      watermarks: registry,
      cdc: { slot_prefix: "t_rj" },
    });
    stream = s;
    await waitFor("streaming", () => registry.isStreaming(jobId), 60_000);
    expect(await appliedLsn(jobId)).not.toBeNull();
    // what a retarget writes (coordination/retarget.ts), without changing the
    // job's shape: the session's job poll sees no change and streams on
    await db.pool.query(
      "update typesense_sync_jobs set cdc_applied_lsn = null, cdc_applied_at = null where id = $1",
      [jobId],
    );
    const before = s.checkpoints.length;
    await db.pool.query("update rj_items set v = 'changed' where id = 2");
    await waitFor(
      "a checkpoint past the change",
      () => s.checkpoints.slice(before).some((c) => c.lsn !== null && c.applied > 0),
      30_000,
    );
    expect(await appliedLsn(jobId)).toBeNull();
  }, 90_000);
});
