/**
 * Document spec benchmark, CDC part (issue 15 point 7).
 *
 *   npx tsx bench/spec-cdc.ts [roots] [--rate N] [--seconds N] [--fanout N] [--embedded]
 *
 * A root table (products, default 1,000,000 rows) with one lookup (brands) and
 * one child table (variants, 5 per product) that has its own lookup (colors),
 * a job whose document spec uses all of them, streamed by CDC into the
 * null-sink emulator in its own process (as Typesense would be). Measures:
 *   1. steady child changes: a writer at --rate single-row variant updates/s
 *      for --seconds; lag per flush = Typesense confirmation minus commit
 *      time (last and oldest commit of the flush), p50/p99 (targets at
 *      2k/s: p99 <= 100 ms), and this process's peak RSS (target <= 256 MB);
 *   2. fan-out: one brand shared by --fanout roots (default 200,000) renamed
 *      in one statement; time until every root is re-rendered and written
 *      (the change acknowledged and the fan-out queue empty), the peak RSS
 *      during it, and the lag of a plain job on the same stream meanwhile
 *      (200 changes/s: the stream's other jobs keep flowing).
 * Baseline for 2: `COPY (<the spec's document statement over those roots>) TO
 * STDOUT` in this process, i.e. Postgres rendering the same documents alone.
 *
 * Source: a throwaway Debian PostgreSQL 15 cluster when
 * .ci/install-postgres-wal2json.sh installed it, else (or with --embedded)
 * embedded PostgreSQL 18.
 */

import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { Checkpoint } from "../src/cdc/applier.js";
import { parseLsn } from "../src/cdc/lsn.js";
import { createCdcStream } from "../src/cdc/stream.js";
import { migrate } from "../src/db/migrate.js";
import { startEmbeddedPostgres } from "../src/demo/embedded-postgres.js";
import { renderSpecSql, resolveDocumentSpec } from "../src/documents/index.js";
import { createLogger } from "../src/lifecycle/index.js";
import { createTypesenseBackend } from "../src/typesense/index.js";
import { PG15_BIN, startDebianCluster } from "../test/support/debian-postgres.js";
import { startEmulatorProcess } from "./emulator-process.js";
import { reportLoad } from "./load.js";
import { fillShop, SHOP_BENCH_JOB, SHOP_BENCH_SPEC } from "./spec-fixture.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROOTS = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const RATE = flag("--rate", 2000);
const SECONDS = flag("--seconds", 20);
const FANOUT = Math.min(ROOTS, flag("--fanout", 200_000));

const load0 = reportLoad("bench/spec-cdc.ts");
let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50);
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};

const useDebian = !args.includes("--embedded") && existsSync(join(PG15_BIN, "pg_recvlogical"));
const server = useDebian
  ? await startDebianCluster({ synchronous_commit: "on" })
  : await startEmbeddedPostgres({ settings: { fsync: "off" } });
const admin = new pg.Client({ connectionString: server.adminUrl });
await admin.connect();
const dbName = `bench_spec_${Date.now()}`;
await admin.query(`create database ${dbName}`);
const url = new URL(server.adminUrl);
url.pathname = `/${dbName}`;
const dbUrl = url.toString();
const pool = new pg.Pool({ connectionString: dbUrl, max: 8 });
pool.on("error", () => {}); // the final DROP DATABASE ... WITH (FORCE)
const log = createLogger({ level: "warn" });
await migrate({ pool, dir: join(HERE, "..", "sql"), log });
const emulator = await startEmulatorProcess({ apiKey: "bench", flag: "--null-sink" });
const backend = createTypesenseBackend({
  nodes: [emulator.url],
  apiKey: "bench",
  timeoutMs: 60_000,
});

await fillShop(pool, ROOTS, FANOUT);
const spec = SHOP_BENCH_SPEC;
const job = SHOP_BENCH_JOB;
const profile = await pool.query<{ id: string }>(
  `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
   values ('bench', $1, 'plain:bench', 'ench') returning id`,
  [emulator.url],
);
await pool.query(
  `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
     collection_name, document_id_column, queryable_fields, cdc_enabled, document)
   values ($1, 'bench', 'products', 'products', 'id', '{title}', true, $2)`,
  [profile.rows[0]!.id, JSON.stringify(spec)],
);
// a plain job on the same stream: its lag while a fan-out is worked off
await pool.query("create table pings (id int4 primary key, n int4 not null)");
await pool.query("insert into pings select g, 0 from generate_series(1, 100) g");
await pool.query(
  `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
     collection_name, document_id_column, cdc_enabled)
   values ($1, 'bench', 'pings', 'pings', 'id', true)`,
  [profile.rows[0]!.id],
);

// Baseline of the fan-out: Postgres alone renders the same documents (the
// spec's own statement over the roots of brand 1), COPY ... TO STDOUT.
const rendered = renderSpecSql(await resolveDocumentSpec(pool, job, spec));
const copyBaseline = await copySeconds(
  `copy (select ${rendered.idText}, ${rendered.document}\n${rendered.from}\nwhere "#r"."brand_id" = 1) to stdout`,
);

const checkpoints: Pick<Checkpoint, "lagMs" | "commitTimeMs" | "oldestCommitTimeMs">[] = [];
const stream = createCdcStream({
  clientName: "bench",
  control: pool,
  source: pool,
  sourceUrl: dbUrl,
  cdc: {
    enabled: true,
    plugin: "pgoutput",
    slot_prefix: "bench",
    flush_max_docs: 1000,
    flush_interval_ms: 50,
    heartbeat_ms: 10_000,
    park_after_ms: 60_000,
    park_probe_ms: 5000,
    ready_max_unhealthy_ms: 60_000,
  },
  backendFor: async () => backend,
  log,
  requestResync: async () => {},
  onCheckpoint: (c) =>
    checkpoints.push({
      lagMs: c.lagMs,
      commitTimeMs: c.commitTimeMs,
      oldestCommitTimeMs: c.oldestCommitTimeMs,
    }),
});
const ctl = new AbortController();
const running = stream.run(ctl.signal);
const confirmed = async () =>
  parseLsn(
    (
      await pool.query<{ c: string | null }>(
        "select confirmed_flush_lsn::text as c from pg_replication_slots where slot_name = 'bench_bench'",
      )
    ).rows[0]?.c ?? "0/0",
  );
const currentLsn = async () =>
  parseLsn((await pool.query<{ l: string }>("select pg_current_wal_lsn()::text as l")).rows[0]!.l);
while ((await confirmed()) === 0n) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 1000));

// 1. steady child changes
peakRss = 0;
checkpoints.length = 0;
const interval = 1000 / RATE;
const stopAt = performance.now() + SECONDS * 1000;
let sent = 0;
await Promise.all(
  Array.from({ length: 4 }, async (_, w) => {
    let next = performance.now();
    while (performance.now() < stopAt) {
      // variants of roots outside the fan-out brand
      const id = FANOUT * 5 + 1 + ((sent++ * 7919 + w) % ((ROOTS - FANOUT) * 5 || 1));
      await pool.query("update variants set stock = stock + 1 where id = $1", [id]);
      next += interval * 4;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }),
);
await new Promise((r) => setTimeout(r, 1000));
const steadyRss = peakRss;
const fresh = checkpoints.filter((c) => Number.isFinite(c.lagMs));
const low = fresh.map((c) => c.lagMs);
const high = fresh.map((c) => c.lagMs + (c.commitTimeMs - c.oldestCommitTimeMs || 0));

// 2. fan-out: one lookup row shared by FANOUT roots, while the plain job's
// table changes at 200/s (its flushes' lag: the stream's other jobs)
peakRss = 0;
checkpoints.length = 0;
const queued = async () =>
  (await pool.query<{ n: number }>("select count(*)::int as n from typesense_cdc_fanouts")).rows[0]!
    .n;
const t0 = performance.now();
await pool.query("update brands set name = name || ' renamed' where id = 1");
const target = await currentLsn();
let pinging = true;
const pinger = (async () => {
  for (let i = 0; pinging; i++) {
    await pool.query("update pings set n = n + 1 where id = $1", [1 + (i % 100)]);
    await new Promise((r) => setTimeout(r, 5));
  }
})();
// done: the change is acknowledged (its fan-out queued) and the queue is empty
while ((await confirmed()) < target || (await queued()) > 0) {
  await new Promise((r) => setTimeout(r, 20));
}
const fanoutSecs = (performance.now() - t0) / 1000;
pinging = false;
await pinger;
const fanoutRss = peakRss;
const pingLag = checkpoints
  .filter((c) => Number.isFinite(c.lagMs))
  .map((c) => c.lagMs + (c.commitTimeMs - c.oldestCommitTimeMs || 0));

ctl.abort();
await running;
clearInterval(rssTimer);

const lines = [
  `Document spec CDC benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, Node ${process.version}, ${useDebian ? "Debian PostgreSQL 15" : "embedded PostgreSQL 18"}, load before ${load0}`,
  `${ROOTS} products, 1 lookup (brands), ${ROOTS * 5} variants (child, REPLICA IDENTITY FULL) with a lookup (colors); null-sink emulator in its own process`,
  `steady child changes: ${sent} variant updates in ${SECONDS} s (${(sent / SECONDS).toFixed(0)}/s), ${fresh.length} flushes`,
  `  lag per flush, last commit:   p50 ${pct(low, 50).toFixed(0)} ms, p99 ${pct(low, 99).toFixed(0)} ms`,
  `  lag per flush, oldest commit: p50 ${pct(high, 50).toFixed(0)} ms, p99 ${pct(high, 99).toFixed(0)} ms (target p99 <= 100 ms)`,
  `  peak RSS of this process (stream + load writer): ${mb(steadyRss)} (target <= 256 MB)`,
  `fan-out: 1 brand shared by ${FANOUT} roots renamed: ${fanoutSecs.toFixed(2)} s until every root was written (queue empty) (${(FANOUT / fanoutSecs).toFixed(0)} roots/s), peak RSS ${mb(fanoutRss)}`,
  `  meanwhile the plain job on the same stream (200 changes/s): ${pingLag.length} flushes, lag (oldest commit) p50 ${pct(pingLag, 50).toFixed(0)} ms, p99 ${pct(pingLag, 99).toFixed(0)} ms`,
  `  baseline COPY (the spec's statement over the same roots) TO STDOUT: ${copyBaseline.toFixed(2)} s (${(FANOUT / copyBaseline).toFixed(0)} roots/s); ratio ${(copyBaseline / fanoutSecs).toFixed(2)}x`,
];
process.stdout.write(`${lines.join("\n")}\n`);

await backend.close();
await emulator.close();
await pool.end();
await admin.query(`drop database ${dbName} with (force)`).catch(() => {});
await admin.end();
await server.stop();

async function copySeconds(sql: string): Promise<number> {
  const client = await pool.connect();
  try {
    const t = performance.now();
    const s = client.query(copyTo(sql));
    for await (const _chunk of s) {
      // drained: the bytes are the measure
    }
    return (performance.now() - t) / 1000;
  } finally {
    client.release();
  }
}
