import pg from "pg";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { admin, jsonInit } from "./fixture.js";
import { useSyncedJob } from "./synced-job.js";

const db = useTestDatabase();
const ts = useTypesense();
const f = useSyncedJob(db, ts, silentLogger, { wave1: true });
const rebuild = () => `/typesense/sync-jobs/${f.jobId}/rebuild`;

async function key(rights: string[]): Promise<string> {
  const res = await f.t.app.request(
    "/admin/api-keys",
    jsonInit("POST", { name: "rebuild", rights }, admin),
  );
  expect(res.status).toBe(201);
  return ((await res.json()) as { data: { api_key: string } }).data.api_key;
}

async function runRow(runId: string) {
  const r = await db.pool.query(
    `select status, trigger, stage, rebuild_stage, rebuild_from_version, rebuild_to_version,
            error_message from typesense_sync_runs where id = $1`,
    [runId],
  );
  return r.rows[0];
}

describe("POST /typesense/sync-jobs/{job_id}/rebuild", () => {
  it("refuses a request without a key (401) and a key without the proxy right (403)", async () => {
    expect((await f.t.app.request(rebuild(), { method: "POST" })).status).toBe(401);
    const search = await key(["gateway.typesense_search"]);
    const res = await f.t.app.request(rebuild(), {
      method: "POST",
      headers: { "X-Athena-Key": search },
    });
    expect(res.status).toBe(403);
    expect(await runsOfJob()).toEqual(["manual"]);
  });

  it("409 names the open run while another run of the job is open; 404 for an unknown job", async () => {
    const manual = await f.call("POST", `/typesense/sync-jobs/${f.jobId}/run`);
    expect(manual.status).toBe(202);
    const res = await f.call("POST", rebuild());
    expect(res.status).toBe(409);
    expect(res.json.code).toBe("CONFLICT");
    expect(res.json.message).toContain(manual.json.data.run_id as string);
    await db.pool.query("update typesense_sync_runs set status = 'cancelled' where id = $1", [
      manual.json.data.run_id,
    ]);
    const unknown = "/typesense/sync-jobs/00000000-0000-4000-8000-000000000000/rebuild";
    expect((await f.call("POST", unknown)).status).toBe(404);
  });

  it("202 with a queued rebuild run in its create step (proxy key), visible in GET runs; again: the same run", async () => {
    const proxy = await key(["gateway.typesense_proxy"]);
    const res = await f.t.app.request(rebuild(), {
      method: "POST",
      headers: { "X-Athena-Key": proxy },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { data: { run_id: string; disposition: string } };
    expect(body.data.disposition).toBe("queued");
    const runId = body.data.run_id;
    const shown = await f.call("GET", `/typesense/sync-runs/${runId}`);
    expect(shown.json.data).toMatchObject({
      trigger: "rebuild",
      status: "queued",
      rebuild_stage: "create",
      // a wave-1 job on its plain collection: from no version to v1
      rebuild_from_version: null,
      rebuild_to_version: 1,
    });
    const again = await f.call("POST", rebuild());
    expect(again.status).toBe(202);
    expect(again.json.data).toMatchObject({ run_id: runId, disposition: "resumable" });
  });

  it("builds v1 next to the live plain collection, swaps the alias onto it, and makes the job fresh", async () => {
    const before = await ts.client.collections(f.collection).retrieve();
    // a source change only the build reads: the live collection must not show it before the swap
    const src = new pg.Client({ connectionString: f.sourceUrl });
    await src.connect();
    await src.query("update products set title = 'Rebuilt 1' where id = 1");
    await src.end();
    const doc1 = async () =>
      ((await ts.client.collections(f.collection).documents("1").retrieve()) as { title: string })
        .title;
    expect(await doc1()).not.toBe("Rebuilt 1");
    const synced = "select last_synced_at from typesense_sync_jobs where id = $1";
    const syncedBefore = (await db.pool.query(synced, [f.jobId])).rows[0].last_synced_at as Date;
    const r = await f.engine.runJob(f.jobId, { trigger: "schedule" });
    expect(r).toMatchObject({ status: "succeeded", error: null });
    expect(await runRow(r.runId)).toMatchObject({
      status: "succeeded",
      trigger: "rebuild",
      stage: "finished",
      rebuild_stage: "keep",
      rebuild_to_version: 1,
    });
    // the full sync into v1 ran (every row imported); the name now is the alias on v1
    expect(r.counters.imported).toBe(20);
    const alias = await ts.client.aliases(f.collection).retrieve();
    expect(alias.collection_name).toBe(`${f.collection}__v1`);
    expect(await doc1()).toBe("Rebuilt 1");
    const after = await ts.client.collections(f.collection).retrieve();
    expect(after.num_documents).toBe(before.num_documents);
    const job = await db.pool.query(
      "select last_sync_status, lease_token, building_version, live_version from typesense_sync_jobs where id = $1",
      [f.jobId],
    );
    expect(job.rows[0]).toEqual({
      last_sync_status: "succeeded",
      lease_token: null,
      building_version: null,
      live_version: 1,
    });
    // the rebuild was a full sync of the version now live: the job is fresh as of it
    const syncedAfter = (await db.pool.query(synced, [f.jobId])).rows[0].last_synced_at as Date;
    expect(syncedAfter.getTime()).toBeGreaterThan(syncedBefore.getTime());
  });

  it("a job moved to another collection after a rebuild starts there on a plain collection again", async () => {
    const moved = ts.uniqueName("moved");
    const res = await f.call("PATCH", `/typesense/sync-jobs/${f.jobId}`, {
      collection_name: moved,
    });
    expect(res.status).toBe(200);
    const job = await db.pool.query(
      "select live_version, building_version from typesense_sync_jobs where id = $1",
      [f.jobId],
    );
    expect(job.rows[0]).toEqual({ live_version: null, building_version: null });
    const r = await f.engine.runJob(f.jobId, { trigger: "schedule" });
    expect(r.status).toBe("succeeded");
    expect((await ts.client.collections(moved).retrieve()).name).toBe(moved);
  });

  it("a rebuild of a CDC job is no longer refused: with no stream on this instance it builds and swaps", async () => {
    await db.pool.query("update typesense_sync_jobs set cdc_enabled = true where id = $1", [
      f.jobId,
    ]);
    try {
      const queued = await f.call("POST", rebuild());
      expect(queued.status).toBe(202);
      const r = await f.engine.runJob(f.jobId, { trigger: "schedule" });
      // no stream here: its barrier has nothing to wait for (a stream that starts
      // later loads building_version at setup: docs/cdc.md "During a rebuild")
      expect(r).toMatchObject({ status: "succeeded", error: null });
      const building = await db.pool.query(
        "select building_version, live_version from typesense_sync_jobs where id = $1",
        [f.jobId],
      );
      expect(building.rows[0].building_version).toBeNull();
      expect(building.rows[0].live_version).toBeGreaterThanOrEqual(1);
    } finally {
      await db.pool.query("update typesense_sync_jobs set cdc_enabled = false where id = $1", [
        f.jobId,
      ]);
    }
  });
});

async function runsOfJob(): Promise<string[]> {
  const r = await db.pool.query<{ trigger: string }>(
    "select trigger from typesense_sync_runs where job_id = $1 order by created_at",
    [f.jobId],
  );
  return r.rows.map((x) => x.trigger);
}
