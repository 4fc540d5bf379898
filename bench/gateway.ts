/**
 * Search gateway overhead benchmark (issue 17, Deliver 5).
 *
 *   npx tsx bench/gateway.ts [queries]
 *
 * In ONE run, interleaved query by query, the same search is sent
 *   A. directly to the emulator: GET /collections/:c/documents/search with the filter the
 *      gateway would add ((tenant_id:=1), filter_curated_hits=true), Typesense's own key;
 *   B. through the gateway: GET /typesense-api/collections/:c/documents/search, a search key
 *      whose scope forces tenant_id:=1;
 *   C. the same with a scoped key minted by typesense-js generateScopedSearchKey from it;
 * over real HTTP with keep-alive. p50(B) - p50(A) is the pass-through's added latency; the
 * target is <= 0.5 ms. Emulator, sidecar and client share this process, so these are ratios
 * of one run, not service times. BENCH_DATABASE_URL when set, else embedded Postgres.
 * Run by the lead on a quiet machine; the result goes in docs/benchmarks.md.
 */
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Client } from "typesense";
import { createAppDeps } from "../src/cli/app-deps.js";
import { createBackendResolver } from "../src/cli/wiring.js";
import { configSchema } from "../src/config/index.js";
import { backendConnection, createSearchKey, createSecretBox } from "../src/control/index.js";
import { createPools, migrate } from "../src/db/index.js";
import { startEmbeddedPostgres } from "../src/demo/embedded-postgres.js";
import { startEmulator } from "../src/emulator/index.js";
import { createFullSyncEngine } from "../src/fullsync/index.js";
import { createApp, createHttpService } from "../src/http/index.js";
import { createLogger } from "../src/lifecycle/index.js";
import { createTypesenseBackend } from "../src/typesense/index.js";
import { reportLoad } from "./load.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const SQL_DIR = join(HERE, "..", "sql");
const API_KEY = "bench-key";
const ADMIN_KEY = "bench-admin-key-0123456789";
const ROWS = 5000;
const WORDS = ["widget", "gadget", "blue", "red", "steel", "wooden", "large", "small"];

async function createDb(adminUrl: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`drop database if exists ${name} with (force)`);
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function timed(f: () => Promise<Response>): Promise<number> {
  const t0 = performance.now();
  const res = await f();
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return performance.now() - t0;
}

/** Control + source databases, one job synced by a real full sync; returns its id. */
async function setUp(pools: ReturnType<typeof createPools>, emulatorUrl: string) {
  await migrate({ pool: pools.control, dir: SQL_DIR, log: createLogger({ level: "silent" }) });
  const src = pools.source("app");
  await src.query("create table docs (id int primary key, tenant_id int, title text, body text)");
  await src.query(
    `insert into docs select i, i % 2 + 1,
       (array[${WORDS.map((w) => `'${w}'`).join(",")}])[1 + i % 8] || ' item ' || i,
       'description of item ' || i
     from generate_series(1, ${ROWS}) i`,
  );
  const box = createSecretBox("");
  const profile = await pools.control.query<{ id: string }>(
    `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
     values ('emu', $1, $2, '') returning id`,
    [emulatorUrl, `plain:${API_KEY}`],
  );
  const job = await pools.control.query<{ id: string }>(
    `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
       collection_name, document_id_column, queryable_fields)
     values ($1, 'app', 'docs', 'docs', 'id', '{title,body}') returning id`,
    [profile.rows[0]!.id],
  );
  const jobId = job.rows[0]!.id;
  const engine = createFullSyncEngine({
    control: pools.control,
    source: (n) => pools.source(n),
    backendFor: async (id) =>
      createTypesenseBackend(await backendConnection(pools.control, box, id)),
    owner: "bench",
    log: createLogger({ level: "silent" }),
    importMaxAttempts: 3,
    importRetryBaseMs: 50,
    sagaBackupEnabled: false,
    leaseTtlMs: 60_000,
  });
  const run = await engine.runJob(jobId, { trigger: "manual" });
  if (run.status !== "succeeded") throw new Error(`sync failed: ${run.error}`);
  const { token } = await createSearchKey(pools.control, box, {
    name: "bench",
    job_ids: [jobId],
    filter_by: "tenant_id:=1",
  });
  return token;
}

async function main(): Promise<void> {
  reportLoad("bench/gateway.ts");
  const queries = Number(process.argv[2] ?? 3000);
  const log = createLogger({ level: "silent" });
  const external = process.env.BENCH_DATABASE_URL;
  const embedded = external
    ? undefined
    : await startEmbeddedPostgres({ settings: { fsync: "off" } });
  const adminUrl = external ?? embedded!.adminUrl;
  const emulator = await startEmulator({ apiKey: API_KEY });
  const ctl = new AbortController();
  let served: Promise<void> | undefined;
  try {
    const controlUrl = await createDb(adminUrl, "bench_gw_control");
    const sourceUrl = await createDb(adminUrl, "bench_gw_source");
    const config = configSchema.parse({
      control_database_url: controlUrl,
      postgres_clients: { app: { url: sourceUrl } },
      auth: { admin_key: ADMIN_KEY },
      typesense: { allow_http: true },
      gateway: { rate_limit: { per_second: 0 } },
      log: { level: "silent" },
    });
    const pools = createPools({ controlUrl, clients: config.postgres_clients, log });
    const key = await setUp(pools, emulator.url);
    const scoped = new Client({
      nodes: [{ host: "localhost", port: 8108, protocol: "http" }],
      apiKey: "-",
    })
      .keys()
      .generateScopedSearchKey(key, { filter_by: "title:!=none" });
    let base = "";
    const deps = createAppDeps({
      config,
      log,
      pools,
      migrationsDir: SQL_DIR,
      backends: createBackendResolver({ config, pools, log }),
    });
    served = createHttpService({
      app: createApp(deps),
      host: "127.0.0.1",
      port: 0,
      log,
      onListening: (u) => {
        base = u;
      },
    }).run(ctl.signal);
    while (!base) await new Promise((r) => setTimeout(r, 10));

    const qs = (q: string) => `q=${encodeURIComponent(q)}&query_by=title,body`;
    const direct = (q: string) =>
      fetch(
        `${emulator.url}/collections/docs/documents/search?${qs(q)}&filter_by=${encodeURIComponent("(tenant_id:=1)")}&filter_curated_hits=true`,
        { headers: { "X-TYPESENSE-API-KEY": API_KEY } },
      );
    const gateway = (q: string, k: string) =>
      fetch(`${base}/typesense-api/collections/docs/documents/search?${qs(q)}`, {
        headers: { "X-TYPESENSE-API-KEY": k },
      });
    const series = { direct: [] as number[], key: [] as number[], scoped: [] as number[] };
    const warm = Math.min(300, queries);
    for (let i = 0; i < warm + queries; i++) {
      const q = WORDS[i % WORDS.length]!;
      const a = await timed(() => direct(q));
      const b = await timed(() => gateway(q, key));
      const c = await timed(() => gateway(q, scoped));
      if (i >= warm) {
        series.direct.push(a);
        series.key.push(b);
        series.scoped.push(c);
      }
    }
    const row = (name: string, xs: number[]) =>
      `| ${name} | ${pct(xs, 50).toFixed(3)} | ${pct(xs, 95).toFixed(3)} | ${(pct(xs, 50) - pct(series.direct, 50)).toFixed(3)} |`;
    const out = [
      `Search gateway overhead, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`,
      `${ROWS} docs (2 tenants) synced by a real full sync; ${queries} queries per path, interleaved, after ${warm} warm-up rounds`,
      "",
      "| Path | p50 ms | p95 ms | p50 added vs direct (ms) |",
      "|---|---|---|---|",
      row("direct to emulator, forced filter added by hand", series.direct),
      row("gateway GET .../documents/search, search key", series.key),
      row("gateway GET .../documents/search, scoped key (generateScopedSearchKey)", series.scoped),
    ];
    process.stdout.write(`${out.join("\n")}\n`);
    ctl.abort();
    await served;
    await deps.clients.close();
    await pools.close();
  } finally {
    ctl.abort();
    await served;
    await emulator.close();
    await embedded?.stop();
  }
}

await main();
