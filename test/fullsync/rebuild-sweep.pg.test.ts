import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { requestRebuild } from "../../src/coordination/request-run.js";
import { createRebuildDropService, sweepOrphanVersions } from "../../src/fullsync/rebuild-drop.js";
import { MANAGED_BY, ownerMark } from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";
import { insertJob } from "./helpers.js";
import { createProducts, useEngineFixture } from "./support.js";

/*
 * The orphan sweeper (fullsync/rebuild-drop.ts sweepOrphanVersions): each
 * rule that keeps a `__v<N>` collection, and the drop once nothing holds it
 * past the keep period. The clock of the age gate is injected (nowSeconds);
 * the keep periods of runs are the control DB's.
 */

const fx = useEngineFixture({ owner: "test", windowSize: 100 });
const { db, source, ts, engine } = fx;
const log = silentLogger();
const now = () => Date.now() / 1000;

/** A job rebuilt twice: v2 live, v1 kept (keep period 600 s, not ended). */
async function jobOnV2(table: string) {
  await createProducts(source.pool, table, 20);
  const collection = ts.uniqueName(table);
  const jobId = await insertJob(db.pool, { collection, table, windowSize: 100 });
  expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
  for (let i = 0; i < 2; i++) {
    await requestRebuild(db.pool, { jobId, scope: UNSCOPED });
    expect((await engine().runJob(jobId, { trigger: "schedule" })).status).toBe("succeeded");
  }
  return { jobId, collection };
}

/** A collection as the sidecar makes a version: the name and the job's mark (or other metadata). */
async function versionLike(name: string, metadata?: Record<string, unknown>) {
  await fx.backend.createCollection({
    name,
    fields: [{ name: "x", type: "string", optional: true }],
    ...(metadata ? { metadata } : {}),
  });
}

const exists = async (name: string) => (await fx.backend.getCollection(name)) !== null;

function sweep(at: number) {
  return sweepOrphanVersions({
    control: db.pool,
    backendFor: async () => fx.backend,
    log,
    nowSeconds: () => at,
  });
}

describe("orphan __v sweeper", () => {
  it("never drops the live, the building, a kept or an aliased version; drops an unheld one only past the keep period", async () => {
    const { jobId, collection } = await jobOnV2("p_sw_rules");
    const mark = ownerMark(jobId);
    await versionLike(`${collection}__v3`, mark); // a crash leftover: nothing holds it
    await versionLike(`${collection}__v4`, mark); // being built
    await db.pool.query("update typesense_sync_jobs set building_version = 4 where id = $1", [
      jobId,
    ]);
    await versionLike(`${collection}__v5`, mark); // an operator's alias names it
    await fx.backend.upsertAlias(ts.uniqueName("p_sw_other_alias"), `${collection}__v5`);

    // within the keep period (600 s from its creation): v3 stays too
    expect(await sweep(now())).toBe(0);
    expect(await exists(`${collection}__v3`)).toBe(true);

    // past it: only v3 goes
    expect(await sweep(now() + 601)).toBe(1);
    expect(await exists(`${collection}__v3`)).toBe(false);
    expect(await exists(`${collection}__v1`)).toBe(true); // kept: its run's keep_until is ahead
    expect((await fx.backend.getCollection(`${collection}__v2`))?.num_documents).toBe(20); // live
    expect(await exists(`${collection}__v4`)).toBe(true); // building
    expect(await exists(`${collection}__v5`)).toBe(true); // aliased

    // the kept version's keep period ends and the drop step has not run yet: it is an orphan now
    await db.pool.query(
      "update typesense_sync_runs set rebuild_keep_until = now() - interval '1 second' where job_id = $1",
      [jobId],
    );
    expect(await sweep(now() + 601)).toBe(1);
    expect(await exists(`${collection}__v1`)).toBe(false);
    expect((await fx.backend.search(collection, { q: "*", query_by: "" })).found).toBe(20);
  });

  it("never drops the job's live version when an operator aliased back to the kept one", async () => {
    const { collection } = await jobOnV2("p_sw_live");
    await fx.backend.upsertAlias(collection, `${collection}__v1`);
    expect(await sweep(now() + 10 * 365 * 86400)).toBe(0);
    expect((await fx.backend.getCollection(`${collection}__v2`))?.num_documents).toBe(20);
  });

  it("uses the job's keep period: a short one lets an unheld version go sooner", async () => {
    const { jobId, collection } = await jobOnV2("p_sw_short");
    await db.pool.query(
      "update typesense_sync_jobs set rebuild_keep_previous_seconds = 5 where id = $1",
      [jobId],
    );
    await versionLike(`${collection}__v3`, ownerMark(jobId));
    expect(await sweep(now())).toBe(0);
    expect(await sweep(now() + 6)).toBe(1);
    expect(await exists(`${collection}__v3`)).toBe(false);
  });

  it("drops a version whose job is gone, past the default keep period (600 s)", async () => {
    const name = `${ts.uniqueName("p_sw_gone")}__v1`;
    await versionLike(name, ownerMark(randomUUID()));
    expect(await sweep(now() + 300)).toBe(0);
    expect(await sweep(now() + 601)).toBe(1);
    expect(await exists(name)).toBe(false);
  });

  it("never touches a foreign collection named like a version: no mark, another product's mark, or no job id", async () => {
    const { jobId, collection } = await jobOnV2("p_sw_foreign");
    const base = ts.uniqueName("x");
    await versionLike(`${base}__v3`);
    await versionLike(`${base}__v4`, { managed_by: "someone-else", job_id: jobId });
    await versionLike(`${base}__v5`, { managed_by: MANAGED_BY });
    await versionLike(`${collection}__v7`, { owner: "ops" });
    expect(await sweep(now() + 10 * 365 * 86400)).toBe(0);
    for (const n of [`${base}__v3`, `${base}__v4`, `${base}__v5`, `${collection}__v7`]) {
      expect(await exists(n), n).toBe(true);
    }
  });

  it("runs in the rebuild-drop service (one timer), counting each drop", async () => {
    const name = `${ts.uniqueName("p_sw_service")}__v2`;
    await versionLike(name, ownerMark(randomUUID()));
    // its creation 601 s ago, as the server reports it: the service uses the real clock
    const real = fx.backend;
    const aged = Object.assign(Object.create(real) as typeof real, {
      listCollections: async () =>
        (await real.listCollections()).map((c) =>
          c.name === name ? { ...c, created_at: Math.floor(now()) - 601 } : c,
        ),
    });
    const drops: string[] = [];
    const svc = createRebuildDropService({
      control: db.pool,
      backendFor: async () => aged,
      log,
      everyMs: 20,
      onDropped: (kind) => drops.push(kind),
    });
    const ctl = new AbortController();
    const running = svc.run(ctl.signal);
    try {
      for (let i = 0; i < 200 && (await exists(name)); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await exists(name)).toBe(false);
      expect(drops).toEqual(["orphan"]);
    } finally {
      ctl.abort();
      await running;
    }
  });
});
