import { describe, expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { requestRebuild } from "../../src/coordination/request-run.js";
import { insertJob } from "./helpers.js";
import { createProducts, useEngineFixture } from "./support.js";

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
  it("resumes a rebuild stopped mid-build in build, on the same v1, and a failed swap then drops v1", async () => {
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

    const again = await engine().runJob(jobId, { trigger: "schedule" });
    expect(again).toMatchObject({ runId, resumed: true, status: "failed" });
    // the resumed build ended and verified (else the error would name build or verify)
    expect(again.error).toMatch(/^swap: /);
    expect(await rebuildState(jobId, runId)).toEqual({
      status: "failed",
      rebuild_stage: "failed",
      building_version: null,
      live_version: null,
    });
    expect(await fx.backend.getCollection(`${collection}__v1`)).toBeNull();
    expect((await fx.backend.getCollection(collection))?.num_documents).toBe(300);
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
});
