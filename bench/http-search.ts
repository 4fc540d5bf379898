/**
 * HTTP search overhead benchmark (issue 5 point 7).
 *
 *   npx tsx bench/http-search.ts [queries]
 *
 * In ONE run, interleaved query by query, the same searches are sent
 *   A. directly to the emulator:  GET /collections/:c/documents/search
 *   B. through the sidecar:       POST /typesense/search {job_id, q}   (static admin key)
 *   C. through the sidecar:       POST /typesense/search {client, table, q} (gateway key)
 * over real HTTP with keep-alive (one fetch client). The collection was filled
 * by a real full sync. p50(B) - p50(A) is the sidecar's added latency; the
 * target is <= 1 ms. Emulator, sidecar and client share this process (2 cores),
 * so the numbers include event-loop sharing; they are ratios of one run, not
 * absolute service times. Uses BENCH_DATABASE_URL when set, else embedded Postgres.
 */
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createAppDeps } from "../src/cli/app-deps.js";
import { createBackendResolver } from "../src/cli/wiring.js";
import { configSchema } from "../src/config/index.js";
import { backendConnection, createApiKey, createSecretBox } from "../src/control/index.js";
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
const WORDS = [
  "widget",
  "gadget",
  "blue",
  "red",
  "steel",
  "wooden",
  "large",
  "small",
  "pro",
  "mini",
];

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

async function main(): Promise<void> {
  reportLoad("bench/http-search.ts");
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
    const controlUrl = await createDb(adminUrl, "bench_http_control");
    const sourceUrl = await createDb(adminUrl, "bench_http_source");
    const config = configSchema.parse({
      control_database_url: controlUrl,
      postgres_clients: { app: { url: sourceUrl } },
      auth: { admin_key: ADMIN_KEY },
      typesense: { allow_http: true },
      log: { level: "silent" },
    });
    const pools = createPools({ controlUrl, clients: config.postgres_clients, log });
    await migrate({ pool: pools.control, dir: SQL_DIR, log });
    const src = pools.source("app");
    await src.query("create table products (id int primary key, title text, body text, price int)");
    await src.query(
      `insert into products select i,
         (array[${WORDS.map((w) => `'${w}'`).join(",")}])[1 + i % 10] || ' item ' || i,
         'description of item ' || i || ' ' || (array['blue','red','steel'])[1 + i % 3], i % 1000
       from generate_series(1, ${ROWS}) i`,
    );
    const box = createSecretBox("");
    const profile = await pools.control.query<{ id: string }>(
      `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
       values ('emu', $1, $2, '') returning id`,
      [emulator.url, `plain:${API_KEY}`],
    );
    const profileId = profile.rows[0]!.id;
    const job = await pools.control.query<{ id: string }>(
      `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
         collection_name, document_id_column, queryable_fields)
       values ($1, 'app', 'products', 'products', 'id', '{title,body}') returning id`,
      [profileId],
    );
    const jobId = job.rows[0]!.id;
    const engine = createFullSyncEngine({
      control: pools.control,
      source: (n) => pools.source(n),
      backendFor: async (id) =>
        createTypesenseBackend(await backendConnection(pools.control, box, id)),
      owner: "bench",
      log,
      importMaxAttempts: 3,
      importRetryBaseMs: 50,
      sagaBackupEnabled: false,
      leaseTtlMs: 60_000,
    });
    const run = await engine.runJob(jobId, { trigger: "manual" });
    if (run.status !== "succeeded") throw new Error(`sync failed: ${run.error}`);
    const { token } = await createApiKey(pools.control, {
      name: "bench",
      rights: ["gateway.typesense_search"],
    });

    let base = "";
    served = createHttpService({
      app: createApp(
        createAppDeps({
          config,
          log,
          pools,
          migrationsDir: SQL_DIR,
          backends: createBackendResolver({ config, pools, log }),
        }),
      ),
      host: "127.0.0.1",
      port: 0,
      log,
      onListening: (u) => {
        base = u;
      },
    }).run(ctl.signal);
    while (!base) await new Promise((r) => setTimeout(r, 10));

    const direct = (q: string) =>
      fetch(
        `${emulator.url}/collections/products/documents/search?q=${encodeURIComponent(q)}&query_by=title,body`,
        { headers: { "X-TYPESENSE-API-KEY": API_KEY } },
      );
    const viaAdmin = (q: string) =>
      fetch(`${base}/typesense/search`, {
        method: "POST",
        headers: { "content-type": "application/json", "X-Athena-Key": ADMIN_KEY },
        body: JSON.stringify({ job_id: jobId, q }),
      });
    const viaGateway = (q: string) =>
      fetch(`${base}/typesense/search`, {
        method: "POST",
        headers: { "content-type": "application/json", "X-Athena-Key": token },
        body: JSON.stringify({ source_client_name: "app", source_table_name: "products", q }),
      });
    const series = { direct: [] as number[], admin: [] as number[], gateway: [] as number[] };
    const warm = Math.min(300, queries);
    for (let i = 0; i < warm + queries; i++) {
      const q = WORDS[i % WORDS.length]!;
      const a = await timed(() => direct(q));
      const b = await timed(() => viaAdmin(q));
      const c = await timed(() => viaGateway(q));
      if (i >= warm) {
        series.direct.push(a);
        series.admin.push(b);
        series.gateway.push(c);
      }
    }
    const row = (name: string, xs: number[]) =>
      `| ${name} | ${pct(xs, 50).toFixed(3)} | ${pct(xs, 95).toFixed(3)} | ${(pct(xs, 50) - pct(series.direct, 50)).toFixed(3)} |`;
    const out = [
      `HTTP search overhead, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`,
      `${ROWS} docs synced by a real full sync; ${queries} queries per path, interleaved, after ${warm} warm-up rounds`,
      "",
      "| Path | p50 ms | p95 ms | p50 added vs direct (ms) |",
      "|---|---|---|---|",
      row("direct to emulator (GET .../documents/search)", series.direct),
      row("sidecar POST /typesense/search, admin key, job_id", series.admin),
      row("sidecar POST /typesense/search, gateway key, client+table", series.gateway),
    ];
    process.stdout.write(`${out.join("\n")}\n`);
    ctl.abort();
    await served;
    await pools.close();
  } finally {
    ctl.abort();
    await served;
    await emulator.close();
    await embedded?.stop();
  }
}

await main();
