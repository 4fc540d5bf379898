import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createCdcSupervisor } from "../../src/cdc/supervisor.js";
import { createAppDeps } from "../../src/cli/app-deps.js";
import { createBackendResolver, createEngine, fullSyncGate } from "../../src/cli/wiring.js";
import { createWatermarkRegistry } from "../../src/coordination/watermarks.js";
import { createPools, type Pools } from "../../src/db/pool.js";
import { createApp, createHttpService } from "../../src/http/index.js";
import { cdcStreamMetrics } from "../../src/metrics/cdc-observer.js";
import { createControlSampler } from "../../src/metrics/control-sampler.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createScheduler } from "../../src/scheduler/index.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { backendFor, docsOf, insertJob, insertProfile, waitFor } from "../cdc/helpers.js";
import { ADMIN_KEY, testConfig } from "../http/fixture.js";
import { silentLogger } from "../support/log.js";
import { SQL_DIR, useTestDatabase } from "../support/pg.js";
import { describeEmulatorOnly, useTypesense } from "../support/typesense.js";

// Issue 19 point 14: every series the shipped Grafana dashboard queries has
// data after real traffic through everything serve runs (API, scheduler +
// full-sync engine, CDC supervisor, control sampler), scraped from /metrics.
const db = useTestDatabase();
const ts = useTypesense();
const CLIENT = "dash";

/** Metric names in the dashboard's PromQL expressions. */
async function dashboardMetricNames(): Promise<string[]> {
  const dash = JSON.parse(await readFile("docs/grafana-dashboard.json", "utf8")) as unknown;
  const exprs: string[] = [];
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) for (const x of o) walk(x);
    else if (o && typeof o === "object") {
      for (const [k, v] of Object.entries(o)) {
        if (k === "expr" && typeof v === "string") exprs.push(v);
        else walk(v);
      }
    }
  };
  walk(dash);
  const names = new Set(exprs.flatMap((e) => e.match(/\bathena_ts_[a-z0-9_]+/g) ?? []));
  return [...names].sort();
}

/** Sample lines by metric name (`name{...} value` or `name value`). */
function samples(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const name = line.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)?.[0];
    if (!name) continue;
    const list = out.get(name) ?? [];
    list.push(line);
    out.set(name, list);
  }
  return out;
}

describeEmulatorOnly("the Grafana dashboard", () => {
  let pools: Pools;
  let url = "";
  let backend: TypesenseBackend;
  const stop = new AbortController();
  let done: Promise<unknown> = Promise.resolve();
  let collection = "";

  beforeAll(async () => {
    backend = backendFor(ts.url, ts.apiKey);
    // the document id is `sku`: a row without one becomes a (CDC) dead letter
    await db.pool.query(`
      create table dash_items (pk int primary key, sku text unique, v text not null);
      alter table dash_items replica identity full;
      insert into dash_items select g, 's' || g, 'v ' || g from generate_series(1, 30) g;
    `);
    collection = ts.uniqueName("dash_items");
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    await insertJob(db.pool, {
      profileId: profile,
      client: CLIENT,
      table: "dash_items",
      collection,
      idColumn: "sku",
    });

    const log = silentLogger();
    const base = testConfig({ controlUrl: db.url, clients: { [CLIENT]: db.url } });
    const config = { ...base, cdc: { ...base.cdc, slot_prefix: "t_dash", flush_interval_ms: 20 } };
    pools = createPools({ controlUrl: db.url, clients: config.postgres_clients, log });
    const metrics = createMetrics();
    // one SecretBox and client cache for the API and the write paths, as in serve
    const backends = createBackendResolver({ config, pools, log });
    const { backendFor: resolve, clients } = backends;
    const app = createApp(
      createAppDeps({ config, log, pools, migrationsDir: SQL_DIR, backends, metrics }),
    );
    const watermarks = createWatermarkRegistry();
    const cdc = createCdcSupervisor({
      control: pools.control,
      pools,
      cdc: config.cdc,
      backendFor: resolve,
      watermarks,
      log,
      instanceId: "dash-test",
      pollMs: 100,
      leaderPollMs: 100,
      metricsFor: (client) => cdcStreamMetrics(metrics, client),
      streamOptions: { statsIntervalMs: 100, backoff: { baseMs: 20, maxMs: 100 } },
    });
    const engine = createEngine({
      config,
      pools,
      log,
      owner: "dash-test",
      backendFor: resolve,
      watermarks,
    });
    const scheduler = createScheduler({
      control: pools.control,
      engine,
      log,
      enabled: true,
      pollMs: 50,
      maxConcurrentRuns: 1,
      listen: false,
      canRun: fullSyncGate(true, (c) => cdc.mayRunFullSyncs(c)),
    });
    const sampler = createControlSampler({ control: pools.control, metrics, log, intervalMs: 100 });
    url = await new Promise<string>((resolveUrl, reject) => {
      const http = createHttpService({
        app,
        host: "127.0.0.1",
        port: 0,
        log,
        onListening: resolveUrl,
      });
      done = Promise.all([
        http.run(stop.signal).catch(reject),
        cdc.run(stop.signal),
        scheduler.run(stop.signal),
        sampler.run(stop.signal),
      ]).finally(() => clients.close());
    });
  });
  afterAll(async () => {
    stop.abort();
    await done;
    await pools?.close();
    await backend?.close();
  });

  const scrape = async () => {
    const r = await fetch(`${url}/metrics`, { headers: { "x-athena-key": ADMIN_KEY } });
    expect(r.status).toBe(200);
    return r.text();
  };

  it("every series it queries has data after real CDC traffic", async () => {
    // the join resync (a full sync) brings every row in
    await waitFor(
      "the resync",
      async () => (await docsOf(backend, collection)).size === 30,
      20_000,
    );
    // CDC traffic of every kind, a retried import (503) and a rejected document
    ts.emulator!.faults.failNext({ path: "*/documents/import", status: 503, times: 2 });
    await db.pool.query("insert into dash_items values (100, 's100', 'new'), (101, null, 'no id')");
    await db.pool.query("update dash_items set v = 'changed' where pk <= 5");
    await db.pool.query("delete from dash_items where pk = 30");
    await waitFor("the changes", async () => {
      const d = await docsOf(backend, collection);
      return d.has("s100") && !d.has("s30") && d.get("s1")?.v === "changed";
    });
    await db.pool.query("truncate dash_items");
    await waitFor("the truncate", async () => (await docsOf(backend, collection)).size === 0);
    await fetch(`${url}/health`);

    const names = await dashboardMetricNames();
    expect(names.length).toBeGreaterThan(10);
    const text = await waitFor(
      "every dashboard series",
      async () => {
        const t = await scrape();
        const have = samples(t);
        return names.every((n) => (have.get(n)?.length ?? 0) > 0) ? t : undefined;
      },
      20_000,
    ).catch(async (e: unknown) => {
      const have = samples(await scrape());
      const missing = names.filter((n) => (have.get(n)?.length ?? 0) === 0);
      throw new Error(`dashboard series without data: ${missing.join(", ")} (${String(e)})`);
    });
    // and they say what happened
    const s = samples(text);
    for (const op of ["insert", "update", "delete", "truncate"]) {
      expect(s.get("athena_ts_cdc_changes_total")?.join("\n")).toContain(`op="${op}"`);
    }
    expect(s.get("athena_ts_cdc_lag_distribution_seconds_count")?.join("\n")).toMatch(
      /job_id="[0-9a-f-]{36}"\} [1-9]/,
    );
    expect(s.get("athena_ts_import_retries_total")?.join("\n")).toMatch(/origin="cdc"\} [1-9]/);
    expect(s.get("athena_ts_dead_letters_total")?.join("\n")).toMatch(/origin="cdc"\} [1-9]/);
  }, 120_000);
});
