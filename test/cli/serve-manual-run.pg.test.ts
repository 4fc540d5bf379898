import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServe } from "../../src/cli/serve.js";
import { insertJob } from "../fullsync/helpers.js";
import {
  createProducts,
  expectCollectionEqualsTable,
  runRows,
  useEngineFixture,
} from "../fullsync/support.js";
import { ADMIN_KEY, testConfig } from "../http/fixture.js";
import { SQL_DIR } from "../support/pg.js";

/**
 * `serve` in this process with `typesense.sync_worker_enabled: false` and
 * `fullsync.max_concurrent_runs: 1`, CDC off: nothing is scheduled, so every
 * run that happens is one the HTTP run route handed to this instance.
 */
const fx = useEngineFixture({ owner: "serve-manual" });
const { db, source, ts } = fx;
const st: { url?: string; stop?: AbortController; done?: Promise<number> } = {};

beforeAll(async () => {
  const base = testConfig({ controlUrl: db.url, clients: { app: source.url } });
  const config = {
    ...base,
    server: { ...base.server, host: "127.0.0.1", port: 0 },
    typesense: { ...base.typesense, sync_worker_enabled: false, sync_worker_poll_ms: 100 },
    fullsync: { ...base.fullsync, max_concurrent_runs: 1 },
    cdc: { ...base.cdc, enabled: false },
    log: { level: "silent" as const, pretty: false },
  };
  st.stop = new AbortController();
  st.url = await new Promise<string>((resolve, reject) => {
    st.done = runServe({
      config,
      sqlDir: SQL_DIR,
      migrate: false,
      exit: () => {},
      onListening: resolve,
      signal: st.stop!.signal,
    });
    st.done.catch(reject);
  });
});
afterAll(async () => {
  st.stop?.abort();
  await st.done;
});

async function runNow(jobId: string): Promise<{ status: number; message: string }> {
  const res = await fetch(`${st.url}/typesense/sync-jobs/${jobId}/run`, {
    method: "POST",
    headers: { "x-athena-key": ADMIN_KEY },
  });
  return { status: res.status, message: ((await res.json()) as { message: string }).message };
}

async function job(table: string, rows: number, enabled = true) {
  await createProducts(source.pool, table, rows);
  const collection = ts.uniqueName(table);
  const id = await insertJob(db.pool, {
    collection,
    table,
    baseUrl: ts.url,
    apiKey: ts.apiKey,
    windowSize: 20,
    enabled,
    // never due: only a manual request may start it
    nextSyncAt: new Date(Date.now() + 3600_000),
  });
  return { id, collection, table };
}

async function statuses(jobIds: string[]): Promise<string[]> {
  const r = await db.pool.query<{ status: string }>(
    "select status from typesense_sync_runs where job_id = any($1::uuid[])",
    [jobIds],
  );
  return r.rows.map((x) => x.status);
}

describe("a manual run with the sync worker disabled", () => {
  it("runs in the instance that took the request and its docs appear", async () => {
    const j = await job("manual_one", 50);
    const r = await runNow(j.id);
    expect(r.status).toBe(202);
    for (let i = 0; i < 600 && (await statuses([j.id]))[0] !== "succeeded"; i++) await sleep(50);
    expect(await statuses([j.id])).toEqual(["succeeded"]);
    const [run] = await runRows(db.pool, j.id);
    expect(run?.trigger).toBe("manual");
    await expectCollectionEqualsTable(fx.backend, j.collection, source.pool, j.table);
  });

  it("answers 409 job is disabled for a disabled job and queues nothing", async () => {
    const j = await job("manual_disabled", 5, false);
    const r = await runNow(j.id);
    expect(r).toEqual({ status: 409, message: "job is disabled" });
    expect(await statuses([j.id])).toEqual([]);
  });

  it("runs several requested jobs, never more at once than max_concurrent_runs (1)", async () => {
    const jobs = await Promise.all(["manual_c1", "manual_c2", "manual_c3"].map((t) => job(t, 400)));
    const ids = jobs.map((j) => j.id);
    for (const j of jobs) expect((await runNow(j.id)).status).toBe(202);
    // Sampled while they run: leases held at once (each run holds its job's lease).
    let maxLeased = 0;
    for (let i = 0; i < 1200; i++) {
      const r = await db.pool.query<{ n: number }>(
        `select count(*)::int n from typesense_sync_jobs
          where id = any($1::uuid[]) and lease_expires_at > now()`,
        [ids],
      );
      maxLeased = Math.max(maxLeased, r.rows[0]!.n);
      if ((await statuses(ids)).filter((s) => s === "succeeded").length === 3) break;
      await sleep(10);
    }
    expect(await statuses(ids)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(maxLeased).toBe(1);
    for (const j of jobs) {
      await expectCollectionEqualsTable(fx.backend, j.collection, source.pool, j.table);
    }
  });
});
