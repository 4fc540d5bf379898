import { describe, expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { requestRebuild } from "../../src/coordination/request-run.js";
import { createRebuildDropService, dropKeptVersions } from "../../src/fullsync/rebuild-drop.js";
import { oracleDocuments, SHOP_DDL, SHOP_SPEC } from "../documents/spec/fixture.js";
import { silentLogger } from "../support/log.js";
import { insertJob } from "./helpers.js";
import { collectionDocuments, createProducts, useEngineFixture } from "./support.js";

const fx = useEngineFixture({ owner: "test", windowSize: 100 });
const { db, source, ts, engine } = fx;

/** A job synced once onto its plain (wave-1) collection, and a rebuild queued for it. */
async function syncedJobWithRebuild(table: string, rows: number) {
  await createProducts(source.pool, table, rows);
  const collection = ts.uniqueName(table);
  const jobId = await insertJob(db.pool, { collection, table, windowSize: 100 });
  expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
  const { runId } = await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
  return { jobId, collection, runId };
}

/** The test Typesense's next alias upsert is applied but answered 400: the ack is lost (`after`), or not applied. */
function failNextAliasUpsert(after: boolean) {
  if (!ts.emulator) throw new Error("fault injection needs the embedded emulator");
  ts.emulator.faults.failNext({ method: "PUT", path: "/aliases/*", status: 400, after });
}

const aliasTarget = async (name: string) =>
  (await fx.backend.getAlias(name))?.collection_name ?? null;

async function rebuildState(jobId: string, runId: string) {
  const r = await db.pool.query(
    `select r.status, r.rebuild_stage, j.building_version, j.live_version
       from typesense_sync_runs r join typesense_sync_jobs j on j.id = r.job_id
      where r.id = $1 and j.id = $2`,
    [runId, jobId],
  );
  return r.rows[0];
}

describe("rebuild run", () => {
  it("resumes a rebuild stopped mid-build in build, on the same v1, and swaps the alias onto it", async () => {
    const { jobId, collection, runId } = await syncedJobWithRebuild("p_rb_resume", 300);
    const ctl = new AbortController();
    const first = await engine({
      onWindowCommitted: () => ctl.abort(), // stop after the first window of the build
    }).runJob(jobId, { trigger: "schedule", signal: ctl.signal });
    expect(first).toMatchObject({ status: "interrupted", runId });
    // the stop left the rebuild open in build: v1 recorded, partly written, the live one whole
    expect(await rebuildState(jobId, runId)).toEqual({
      status: "running",
      rebuild_stage: "build",
      building_version: 1,
      live_version: null,
    });
    const partial = await fx.backend.getCollection(`${collection}__v1`);
    expect(partial?.num_documents).toBeGreaterThan(0);
    expect(partial?.num_documents).toBeLessThan(300);
    expect((await fx.backend.getCollection(collection))?.num_documents).toBe(300);
    expect(await aliasTarget(collection)).toBeNull();

    const again = await engine().runJob(jobId, { trigger: "schedule" });
    expect(again).toMatchObject({ runId, resumed: true, status: "succeeded" });
    expect(await rebuildState(jobId, runId)).toEqual({
      status: "succeeded",
      rebuild_stage: "keep",
      building_version: null,
      live_version: 1,
    });
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);
    expect((await fx.backend.search(collection, { q: "*", query_by: "" })).found).toBe(300);
  });

  it("a failed swap of v1 -> v2 drops v2 and leaves the alias on v1, serving", async () => {
    const { jobId, collection } = await syncedJobWithRebuild("p_rb_discard", 60);
    expect((await engine().runJob(jobId, { trigger: "schedule" })).status).toBe("succeeded");
    const second = await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    failNextAliasUpsert(false);
    const r = await engine().runJob(jobId, { trigger: "schedule" });
    expect(r).toMatchObject({ runId: second.runId, status: "failed" });
    expect(r.error).toBe("swap: the alias upsert failed: Injected fault");
    expect(await rebuildState(jobId, second.runId)).toEqual({
      status: "failed",
      rebuild_stage: "failed",
      building_version: null,
      live_version: 1,
    });
    expect(await fx.backend.getCollection(`${collection}__v2`)).toBeNull();
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);
    expect((await fx.backend.search(collection, { q: "*", query_by: "" })).found).toBe(60);
  });

  it("never drops a collection named like the new version that is not the job's: the build fails, it stays", async () => {
    const { jobId, collection, runId } = await syncedJobWithRebuild("p_rb_foreign", 50);
    const foreign = `${collection}__v1`;
    await fx.backend.createCollection({ name: foreign, fields: [{ name: "x", type: "string" }] });
    const r = await engine().runJob(jobId, { trigger: "schedule" });
    expect(r).toMatchObject({ runId, status: "failed" });
    expect(r.error).toMatch(/^build of .*__v1: .*not created by athena-typesense-sync/);
    expect((await fx.backend.getCollection(foreign))?.name).toBe(foreign);
    expect((await rebuildState(jobId, runId)).building_version).toBeNull();
  });

  it("swaps a wave-1 plain collection to an alias on v1, then a second rebuild to v2 keeps v1", async () => {
    const { jobId, collection, runId } = await syncedJobWithRebuild("p_rb_swap", 120);
    const aliased = engine();
    const r = await aliased.runJob(jobId, { trigger: "schedule" });
    expect(r).toMatchObject({ runId, status: "succeeded", error: null });
    expect(await rebuildState(jobId, runId)).toEqual({
      status: "succeeded",
      rebuild_stage: "keep",
      building_version: null,
      live_version: 1,
    });
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);
    const names = (await fx.backend.listCollections()).map((c) => c.name);
    expect(names).toContain(`${collection}__v1`);
    expect(names).not.toContain(collection); // the plain collection went with the swap
    const found = await fx.backend.search(collection, { q: "*", query_by: "" });
    expect(found.found).toBe(120);
    const v1 = await fx.backend.getCollection(`${collection}__v1`);
    expect(v1?.metadata).toMatchObject({ job_id: jobId, version: 1 });
    const keep = await db.pool.query(
      `select extract(epoch from rebuild_keep_until - rebuild_swapped_at)::int as s
         from typesense_sync_runs where id = $1`,
      [runId],
    );
    expect(keep.rows[0].s).toBe(600);

    // a plain sync after the swap writes the live version (through the alias), never a
    // new plain collection under the alias' name
    await source.pool.query("delete from p_rb_swap where id = 1");
    expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
    expect((await fx.backend.getCollection(`${collection}__v1`))?.num_documents).toBe(119);
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);

    const second = await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    const r2 = await aliased.runJob(jobId, { trigger: "schedule" });
    expect(r2).toMatchObject({ runId: second.runId, status: "succeeded" });
    expect(await aliasTarget(collection)).toBe(`${collection}__v2`);
    // v1 is kept (dropping it after keep_until is the sweeper's, not built yet)
    expect((await fx.backend.getCollection(`${collection}__v1`))?.name).toBe(`${collection}__v1`);
    expect((await rebuildState(jobId, second.runId)).live_version).toBe(2);

    // the keep periods end: v1 is dropped, the live v2 stays; both runs reach done
    await db.pool.query(
      "update typesense_sync_runs set rebuild_keep_until = now() - interval '1 second' where job_id = $1 and trigger = 'rebuild'",
      [jobId],
    );
    const backendFor = async () => fx.backend;
    const log = silentLogger();
    expect(await dropKeptVersions({ control: db.pool, backendFor, log })).toBe(2);
    expect(await fx.backend.getCollection(`${collection}__v1`)).toBeNull();
    expect((await fx.backend.getCollection(`${collection}__v2`))?.num_documents).toBe(119);
    expect(await aliasTarget(collection)).toBe(`${collection}__v2`);
    const stages = await db.pool.query(
      "select rebuild_stage from typesense_sync_runs where job_id = $1 and trigger = 'rebuild'",
      [jobId],
    );
    expect(stages.rows.map((x) => x.rebuild_stage)).toEqual(["done", "done"]);
    expect(await dropKeptVersions({ control: db.pool, backendFor, log })).toBe(0);
  });

  it("a crash right after the alias call never discards the version the alias names: the resume records the swap", async () => {
    const { jobId, collection, runId } = await syncedJobWithRebuild("p_rb_swap_crash", 40);
    // the alias call is applied, its answer lost: as a crash right after it
    failNextAliasUpsert(true);
    const crashing = engine();
    const first = await crashing.runJob(jobId, { trigger: "schedule" });
    expect(first).toMatchObject({ runId, status: "interrupted" });
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);
    expect((await rebuildState(jobId, runId)).rebuild_stage).toBe("swap");
    expect((await fx.backend.getCollection(`${collection}__v1`))?.num_documents).toBe(40);

    const again = await engine().runJob(jobId, {
      trigger: "schedule",
    });
    expect(again).toMatchObject({ runId, status: "succeeded", resumed: true });
    expect(await rebuildState(jobId, runId)).toMatchObject({
      rebuild_stage: "keep",
      live_version: 1,
    });
    expect((await fx.backend.search(collection, { q: "*", query_by: "" })).found).toBe(40);
  });

  it("never drops a kept version the alias names again (an operator aliased back to it)", async () => {
    const { jobId, collection } = await syncedJobWithRebuild("p_rb_alias_back", 30);
    const aliased = engine();
    expect((await aliased.runJob(jobId, { trigger: "schedule" })).status).toBe("succeeded");
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    expect((await aliased.runJob(jobId, { trigger: "schedule" })).status).toBe("succeeded");
    await fx.backend.upsertAlias(collection, `${collection}__v1`);
    await db.pool.query(
      "update typesense_sync_runs set rebuild_keep_until = now() where job_id = $1 and trigger = 'rebuild'",
      [jobId],
    );
    const backendFor = async () => fx.backend;
    expect(await dropKeptVersions({ control: db.pool, backendFor, log: silentLogger() })).toBe(2);
    expect((await fx.backend.getCollection(`${collection}__v1`))?.num_documents).toBe(30);
    expect((await fx.backend.search(collection, { q: "*", query_by: "" })).found).toBe(30);
  });

  it("the drop service drops a kept version on its own once the keep period ended", async () => {
    const { jobId, collection } = await syncedJobWithRebuild("p_rb_service", 10);
    expect((await engine().runJob(jobId, { trigger: "schedule" })).status).toBe("succeeded");
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    expect((await engine().runJob(jobId, { trigger: "schedule" })).status).toBe("succeeded");
    const svc = createRebuildDropService({
      control: db.pool,
      backendFor: async () => fx.backend,
      log: silentLogger(),
      everyMs: 20,
    });
    const ctl = new AbortController();
    const running = svc.run(ctl.signal);
    try {
      await new Promise((r) => setTimeout(r, 100));
      // still kept: its keep period has not ended
      expect((await fx.backend.getCollection(`${collection}__v1`))?.num_documents).toBe(10);
      await db.pool.query(
        "update typesense_sync_runs set rebuild_keep_until = now() where job_id = $1 and trigger = 'rebuild'",
        [jobId],
      );
      for (let i = 0; i < 100 && (await fx.backend.getCollection(`${collection}__v1`)); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await fx.backend.getCollection(`${collection}__v1`)).toBeNull();
      expect(await aliasTarget(collection)).toBe(`${collection}__v2`);
    } finally {
      ctl.abort();
      await running;
    }
  });
  it("verifies a spec job whose filter leaves rows out: the manifest's filtered-out ids have no document", async () => {
    await source.pool.query(SHOP_DDL);
    const collection = ts.uniqueName("shop_rb");
    const jobId = await insertJob(db.pool, { collection, table: "products", windowSize: 100 });
    await db.pool.query("update typesense_sync_jobs set document = $2 where id = $1", [
      jobId,
      SHOP_SPEC,
    ]);
    expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    const r = await engine().runJob(jobId, { trigger: "schedule" });
    expect(r, JSON.stringify(r)).toMatchObject({ status: "succeeded" });
    expect(await aliasTarget(collection)).toBe(`${collection}__v1`);
    const oracle = await oracleDocuments(source.pool);
    expect(oracle.size).toBeLessThan(7); // the filter leaves products 4 and 5 out
    expect(await collectionDocuments(fx.backend, `${collection}__v1`)).toEqual(oracle);
  });
});
