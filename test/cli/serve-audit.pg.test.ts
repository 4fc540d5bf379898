import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServe } from "../../src/cli/serve.js";
import { insertJob } from "../fullsync/helpers.js";
import {
  createProducts,
  expectCollectionEqualsTable,
  useEngineFixture,
} from "../fullsync/support.js";
import { ADMIN_KEY, testConfig } from "../http/fixture.js";
import { SQL_DIR } from "../support/pg.js";

/** `serve` in this process, CDC off: its audit service runs a requested audit. */
const fx = useEngineFixture({ owner: "serve-audit" });
const { db, source, ts } = fx;
const st: { url?: string; stop?: AbortController; done?: Promise<number> } = {};

beforeAll(async () => {
  const base = testConfig({ controlUrl: db.url, clients: { app: source.url } });
  const config = {
    ...base,
    server: { ...base.server, host: "127.0.0.1", port: 0 },
    typesense: { ...base.typesense, sync_worker_poll_ms: 100 },
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

describe("serve: drift audit", () => {
  it("a requested audit runs in serve, repairs a document deleted in Typesense and shows in the status", async () => {
    await createProducts(source.pool, "serve_audit", 40);
    const collection = ts.uniqueName("serve_audit");
    const jobId = await insertJob(db.pool, {
      collection,
      table: "serve_audit",
      baseUrl: ts.url,
      apiKey: ts.apiKey,
      windowSize: 20,
      nextSyncAt: new Date(Date.now() + 3600_000),
    });
    // no scheduled audit: serve's audit service would take it before the request (409)
    await db.pool.query("update typesense_sync_jobs set audit_interval_seconds = 0 where id = $1", [
      jobId,
    ]);
    expect((await fx.engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
    await fx.backend.deleteDocuments(collection, ["7"]);
    const res = await fetch(`${st.url}/typesense/sync-jobs/${jobId}/audit`, {
      method: "POST",
      headers: { "x-athena-key": ADMIN_KEY },
    });
    expect(res.status).toBe(202);
    let last: Record<string, unknown> | null = null;
    for (let i = 0; i < 400 && !last; i++) {
      const s = await fetch(`${st.url}/typesense/sync-jobs/${jobId}/status`, {
        headers: { "x-athena-key": ADMIN_KEY },
      });
      last = ((await s.json()) as { data: { last_audit: Record<string, unknown> | null } }).data
        .last_audit;
      if (!last) await sleep(50);
    }
    expect(last).toMatchObject({ status: "succeeded", missing: 1, repaired: { missing: 1 } });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "serve_audit");
  });
});
