import { describe, expect, it } from "vitest";
import { ALIAS_WINDOW_PAUSE_MS } from "../../src/control/alias-window.js";
import { mintSearchKey } from "../gateway/support.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { realTypesense, useTypesense } from "../support/typesense.js";
import { admin, jsonInit } from "./fixture.js";
import { useSyncedJob } from "./synced-job.js";

/*
 * Issue 16 point 6: a wave-1 job's first rebuild deletes its plain collection
 * and upserts the alias of the same name back to back; a search landing in
 * between is a 404, which /typesense/search and the gateway retry once after
 * ALIAS_WINDOW_PAUSE_MS. The window is held open with emulator latency on the
 * alias upsert (WINDOW_MS < the pause), so the searches below land inside it.
 */
const db = useTestDatabase();
const ts = useTypesense();
const f = useSyncedJob(db, ts, silentLogger, { wave1: true });
const WINDOW_MS = 120;

const routeSearch = () =>
  f.t.app.request("/typesense/search", jsonInit("POST", { job_id: f.jobId, q: "*" }, admin));
const gatewaySearch = (key: string) =>
  f.t.app.request(`/typesense-api/collections/${f.collection}/documents/search?q=*`, {
    headers: { "X-TYPESENSE-API-KEY": key },
  });

/** Resolves once the job's collection name is not found (the plain collection deleted, no alias yet). */
async function windowOpened(): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const found = await ts.client
      .collections(f.collection)
      .retrieve()
      .then(
        () => true,
        () => false,
      );
    if (!found) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("the migration window never opened");
}

describe.skipIf(realTypesense() !== undefined)("the wave-1 migration window", () => {
  it("searches sent inside it (the sidecar's route and the gateway) succeed after one retry; the run records the window", async () => {
    const key = (await mintSearchKey(f, { job_ids: [f.jobId] })).token;
    expect((await f.call("POST", `/typesense/sync-jobs/${f.jobId}/rebuild`)).status).toBe(202);
    ts.emulator!.faults.addLatency({
      method: "PUT",
      path: `/aliases/${f.collection}`,
      ms: WINDOW_MS,
      times: 1,
    });
    const run = f.engine.runJob(f.jobId, { trigger: "schedule" });
    await windowOpened();
    const [viaRoute, viaGateway] = await Promise.all([routeSearch(), gatewaySearch(key)]);
    expect(viaRoute.status).toBe(200);
    const routeBody = (await viaRoute.json()) as { data: { result: { found: number } } };
    expect(routeBody.data.result.found).toBe(20);
    expect(viaGateway.status).toBe(200);
    expect(((await viaGateway.json()) as { found: number }).found).toBe(20);
    const r = await run;
    expect(r.status).toBe("succeeded");
    const row = await db.pool.query(
      "select rebuild_migration_window_ms as ms from typesense_sync_runs where id = $1",
      [r.runId],
    );
    // the window held open by WINDOW_MS of latency is measured as at least that long
    expect(row.rows[0].ms).toBeGreaterThanOrEqual(WINDOW_MS);
    // the alias is in place: searching it needs no retry any more
    expect((await ts.client.aliases(f.collection).retrieve()).collection_name).toBe(
      `${f.collection}__v1`,
    );
  });

  it("a real 404 (the job's collection is gone) still answers not found (the route: 400 naming Typesense's 404; the gateway: 404), after the one retry", async () => {
    const key = (await mintSearchKey(f, { job_ids: [f.jobId] })).token;
    await ts.client.aliases(f.collection).delete();
    const started = performance.now();
    const viaRoute = await routeSearch();
    // the route's mapping of a Typesense 4xx (docs/api.md): 400 naming Typesense's 404
    expect(viaRoute.status).toBe(400);
    expect(await viaRoute.json()).toMatchObject({
      code: "TYPESENSE_REJECTED",
      message: "Collection not found",
      error: { typesense_status: 404 },
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(ALIAS_WINDOW_PAUSE_MS - 5);
    const viaGateway = await gatewaySearch(key);
    expect(viaGateway.status).toBe(404);
  });
});
