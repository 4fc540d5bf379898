import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { requestJoinResync, requestRebuild } from "../../src/coordination/request-run.js";
import {
  createWatermarkRegistry,
  type WatermarkCoordinator,
} from "../../src/coordination/watermarks.js";
import { markResyncRequested } from "../../src/db/repositories/cdc-jobs.js";
import { createFullSyncEngine, type FullSyncEngineOptions } from "../../src/fullsync/index.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import {
  backendFor,
  docsOf,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  waitFor,
} from "../cdc/helpers.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { tableDocuments } from "./support.js";

/*
 * Rebuilds of CDC jobs (docs/cdc.md "During a rebuild"): the stream writes
 * every change to the live version and to the one being built. The stream's
 * jobs poll is set to 10 minutes here, so the only way it learns of the
 * building version is the rebuild's barrier window (fullsync/rebuild.ts).
 * Control and source are the same database (logical replication on it).
 */
const db = useTestDatabase();
const ts = useTypesense();
let backend: TypesenseBackend;
let profile: string;
const streams: RunningStream[] = [];

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
  profile = await insertProfile(db.pool, ts.url, ts.apiKey);
});
afterAll(async () => {
  for (const s of streams) await s.stop();
  await backend.close();
});

function engine(watermarks: WatermarkCoordinator, over: Partial<FullSyncEngineOptions> = {}) {
  return createFullSyncEngine({
    control: db.pool,
    source: () => db.pool,
    backendFor: async () => backend,
    owner: "test",
    log: silentLogger(),
    importMaxAttempts: 3,
    importRetryBaseMs: 1,
    sagaBackupEnabled: true,
    leaseTtlMs: 30_000,
    windowSize: 100,
    watermarks,
    ...over,
  });
}

/** A streamed job on table `tbl` (`n` rows), synced once onto its plain collection. */
async function streamedJob(client: string, tbl: string, n: number) {
  await db.pool.query(`create table ${tbl} (id int primary key, v text not null)`);
  await db.pool.query(`insert into ${tbl} select g, 'v1 ' || g from generate_series(1, $1) g`, [n]);
  const collection = ts.uniqueName(tbl);
  const jobId = await insertJob(db.pool, { profileId: profile, client, table: tbl, collection });
  const registry = createWatermarkRegistry();
  const stream = runStream({
    control: db.pool,
    source: db.pool,
    sourceUrl: db.url,
    client,
    backend,
    log: silentLogger(),
    watermarks: registry,
    cdc: { slot_prefix: "t_rbc" },
    jobsPollMs: 600_000,
  });
  streams.push(stream);
  await waitFor("streaming", () => registry.isStreaming(jobId));
  expect((await engine(registry).runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
  return { collection, jobId, registry };
}

/** Whether `collection` holds exactly the table's rows now. */
async function equalsTable(tbl: string, collection: string): Promise<boolean> {
  const want = await tableDocuments(db.pool, tbl);
  const got = await docsOf(backend, collection);
  if (got.size !== want.size) return false;
  for (const [id, doc] of want) {
    if (JSON.stringify(got.get(id)) !== JSON.stringify(doc)) return false;
  }
  return true;
}

const aliasTarget = async (name: string) => (await backend.getAlias(name))?.collection_name ?? null;

describe("rebuild of a CDC job", () => {
  it("dual-writes changes made during the build: the new version equals the table at the swap, deletes counted by verify", async () => {
    const { collection, jobId, registry } = await streamedJob("rbc_a", "rbc_dual", 300);
    const { runId } = await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    let changed = false;
    const r = await engine(registry, {
      // after the build's first window (ids 1..100) is written: change rows of
      // that window (only CDC can bring them to v1 now), of later windows,
      // delete 10 manifest rows and insert 5 new ones
      onWindowCommitted: async () => {
        if (changed) return;
        changed = true;
        await db.pool.query(`update rbc_dual set v = 'v2 ' || id where id in (5, 50, 150, 250)`);
        await db.pool.query(
          `delete from rbc_dual where id between 60 and 64 or id between 280 and 284`,
        );
        await db.pool.query(
          `insert into rbc_dual select g, 'new ' || g from generate_series(301, 305) g`,
        );
        // the live version gets them through the stream, and so does v1 (before its later windows)
        await waitFor("live has the changes", () => equalsTable("rbc_dual", collection));
        const v1 = await docsOf(backend, `${collection}__v1`);
        expect(v1.get("5")?.v).toBe("v2 5");
        expect(v1.get("250")?.v).toBe("v2 250");
        expect(v1.has("60")).toBe(false);
        expect(v1.get("303")?.v).toBe("new 303");
      },
    }).runJob(jobId, { trigger: "schedule" });
    expect(changed).toBe(true);
    expect(r).toMatchObject({ runId, status: "succeeded", error: null });
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);
    // 300 in the manifest, 10 of them deleted since, 5 inserted: 295 documents
    expect(await equalsTable("rbc_dual", `${collection}__v1`)).toBe(true);
    expect((await backend.search(collection, { q: "*", query_by: "" })).found).toBe(295);
    // after the swap the stream keeps writing the live version through the alias
    await db.pool.query(`update rbc_dual set v = 'v3' where id = 7`);
    await waitFor("alias has the change", () => equalsTable("rbc_dual", collection));
  });

  it("a change committed during the build's first window, before its watermark, reaches the new version (the barrier)", async () => {
    const { collection, jobId, registry } = await streamedJob("rbc_c", "rbc_barrier", 200);
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    let hooked = false;
    // The engine's side of the registry, with a hook in the first window of the
    // new version: after its ids were registered and its rows read, before its
    // watermark. A change of row 10 now supersedes the window's read of it, so
    // only the stream can bring it to v1, and the stream knows of v1 at that
    // point only if the build passed the barrier before this window.
    const hookedRegistry: WatermarkCoordinator = {
      isStreaming: (id) => registry.isStreaming(id),
      watchChanges: (id) => registry.watchChanges(id),
      openWindow(id, ids, c) {
        const w = registry.openWindow(id, ids, c);
        if (hooked || c !== `${collection}__v1`) return w;
        hooked = true;
        return {
          ...w,
          close: async (docs, o) => {
            await db.pool.query(`update rbc_barrier set v = 'changed' where id = 10`);
            await waitFor("live has the change", async () => {
              const d = await docsOf(backend, collection);
              return d.get("10")?.v === "changed";
            });
            return w.close(docs, o);
          },
          abandon: () => w.abandon(),
        };
      },
    };
    const r = await engine(registry, { watermarks: hookedRegistry }).runJob(jobId, {
      trigger: "schedule",
    });
    expect(hooked).toBe(true);
    expect(r).toMatchObject({ status: "succeeded", error: null });
    expect((await docsOf(backend, `${collection}__v1`)).get("10")?.v).toBe("changed");
    expect(await equalsTable("rbc_barrier", collection)).toBe(true);
  });

  it("a lost replication slot's marker queues a rebuild with the reason on the run; it builds v1 while the live collection serves", async () => {
    const { collection, jobId, registry } = await streamedJob("rbc_d", "rbc_lost", 150);
    const reason = 'replication slot "t_rbc_rbc_d" was lost (test)';
    await markResyncRequested(db.pool, [jobId], reason);
    const req = await requestJoinResync(db.pool, jobId);
    expect(req?.disposition).toBe("queued");
    const run = await db.pool.query(
      "select trigger, trigger_reason, rebuild_stage from typesense_sync_runs where id = $1",
      [req?.runId],
    );
    expect(run.rows[0]).toEqual({
      trigger: "rebuild",
      trigger_reason: reason,
      rebuild_stage: "create",
    });
    const marker = await db.pool.query(
      "select cdc_resync_requested_at, cdc_resync_reason from typesense_sync_jobs where id = $1",
      [jobId],
    );
    expect(marker.rows[0]).toEqual({ cdc_resync_requested_at: null, cdc_resync_reason: null });
    // the live (wave-1) collection serves during the build; after it the alias names v1
    const r = await engine(registry, {
      onWindowCommitted: async () => {
        expect((await backend.search(collection, { q: "*", query_by: "" })).found).toBe(150);
      },
    }).runJob(jobId, { trigger: "schedule" });
    expect(r).toMatchObject({ runId: req?.runId, status: "succeeded" });
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);
    expect(await equalsTable("rbc_lost", collection)).toBe(true);
  });

  it("a discarded version is never re-created by CDC writes that still name it", async () => {
    const { collection, jobId, registry } = await streamedJob("rbc_b", "rbc_discard", 120);
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    expect((await engine(registry).runJob(jobId, { trigger: "schedule" })).status).toBe(
      "succeeded",
    );
    // v1 -> v2, whose swap fails: v2 is discarded while the stream still dual-writes it
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    if (!ts.emulator) return; // fault injection needs the embedded emulator
    ts.emulator.faults.failNext({ method: "PUT", path: "/aliases/*", status: 400, after: false });
    const r = await engine(registry).runJob(jobId, { trigger: "schedule" });
    expect(r.status).toBe("failed");
    expect(await backend.getCollection(`${collection}__v2`)).toBeNull();
    await db.pool.query(`update rbc_discard set v = 'after discard' where id in (1, 2, 3)`);
    await waitFor("live has the change", () => equalsTable("rbc_discard", collection));
    expect(await backend.getCollection(`${collection}__v2`)).toBeNull();
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);
  });
});
