/**
 * Document spec benchmark, full-sync part (issue 15 point 7).
 *
 *   npx tsx bench/spec-full-sync.ts [roots]
 *
 * The spec benches' source (bench/spec-fixture.ts: default 1,000,000
 * products, a brand lookup, 5 variants per product with a color lookup) and
 * a job with that spec. Measures in ONE run, on one machine:
 *   1. baseline: `COPY (<the spec's own document statement over the whole
 *      table>) TO STDOUT`: Postgres rendering every document alone (rows/s);
 *   2. our full sync of the job into the null-sink emulator (in its own
 *      process, as Typesense would be), saga off: rows/s and the ratio to 1
 *      (target >= 0.5x), this process's CPU and peak RSS.
 * Embedded PostgreSQL 18 (fsync off), or BENCH_DATABASE_URL.
 */

import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { migrate } from "../src/db/migrate.js";
import { startEmbeddedPostgres } from "../src/demo/embedded-postgres.js";
import { renderSpecSql, resolveDocumentSpec } from "../src/documents/index.js";
import { createFullSyncEngine } from "../src/fullsync/index.js";
import { createLogger } from "../src/lifecycle/index.js";
import { createTypesenseBackend } from "../src/typesense/index.js";
import { startEmulatorProcess } from "./emulator-process.js";
import { reportLoad } from "./load.js";
import { fillShop, SHOP_BENCH_JOB, SHOP_BENCH_SPEC } from "./spec-fixture.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOTS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const load0 = reportLoad("bench/spec-full-sync.ts");
let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50);

const external = process.env.BENCH_DATABASE_URL;
const server = external ? null : await startEmbeddedPostgres({ settings: { fsync: "off" } });
const adminUrl = external ?? server!.adminUrl;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const dbName = `bench_specfs_${Date.now()}`;
await admin.query(`create database ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const pool = new pg.Pool({ connectionString: url.toString(), max: 8 });
pool.on("error", () => {}); // the final DROP DATABASE ... WITH (FORCE)
const log = createLogger({ level: "warn" });
await migrate({ pool, dir: join(HERE, "..", "sql"), log });
await fillShop(pool, ROOTS, Math.min(ROOTS, 200_000));
const emulator = await startEmulatorProcess({ apiKey: "bench", flag: "--null-sink" });
const backend = createTypesenseBackend({
  nodes: [emulator.url],
  apiKey: "bench",
  timeoutMs: 120_000,
});
const profile = await pool.query<{ id: string }>(
  `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
   values ('bench', $1, 'plain:bench', 'ench') returning id`,
  [emulator.url],
);
const job = await pool.query<{ id: string }>(
  `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
     collection_name, document_id_column, queryable_fields, document)
   values ($1, 'bench', 'products', 'products', 'id', '{title}', $2) returning id`,
  [profile.rows[0]!.id, JSON.stringify(SHOP_BENCH_SPEC)],
);

// 1. baseline: the spec's own statement, every document, COPY ... TO STDOUT
const rendered = renderSpecSql(await resolveDocumentSpec(pool, SHOP_BENCH_JOB, SHOP_BENCH_SPEC));
const copySecs = await copySeconds(`copy (${rendered.whole}) to stdout`);
const copyRate = ROOTS / copySecs;

// 2. our full sync of the job
const engine = createFullSyncEngine({
  control: pool,
  source: () => pool,
  backendFor: async () => backend,
  owner: "bench",
  log,
  importMaxAttempts: 3,
  importRetryBaseMs: 400,
  sagaBackupEnabled: false,
  leaseTtlMs: 60_000,
  windowSize: 1000,
});
peakRss = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = await engine.runJob(job.rows[0]!.id, { trigger: "cli" });
const syncSecs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(rssTimer);
if (result.status !== "succeeded")
  throw new Error(`the run ended ${result.status}: ${result.error}`);
const syncRate = ROOTS / syncSecs;

const lines = [
  `Document spec full-sync benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, Node ${process.version}, ${external ? "BENCH_DATABASE_URL" : "embedded PostgreSQL 18"}, load before ${load0}`,
  `${ROOTS} products, 1 lookup (brands), ${ROOTS * 5} variants (child, objects, limit 10) with a lookup (colors); window 1000, saga off, null-sink emulator in its own process`,
  `baseline COPY (<the spec's document statement>) TO STDOUT: ${copyRate.toFixed(0)} rows/s (${copySecs.toFixed(2)} s)`,
  `full sync: ${syncRate.toFixed(0)} rows/s (${syncSecs.toFixed(2)} s), ratio ${(syncRate / copyRate).toFixed(2)}x (target >= 0.5x); imported ${result.counters.imported}, failed ${result.counters.failed}`,
  `  this process's CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, peak RSS ${(peakRss / 1048576).toFixed(0)} MB`,
];
process.stdout.write(`${lines.join("\n")}\n`);

await backend.close();
await emulator.close();
await pool.end();
await admin.query(`drop database ${dbName} with (force)`).catch(() => {});
await admin.end();
await server?.stop();

async function copySeconds(sql: string): Promise<number> {
  const client = await pool.connect();
  try {
    const t = performance.now();
    for await (const _chunk of client.query(copyTo(sql))) {
      // drained: the bytes are the measure
    }
    return (performance.now() - t) / 1000;
  } finally {
    client.release();
  }
}
