/**
 * CDC benchmark (issue 7 point 8).
 *
 *   npx tsx bench/cdc.ts [backlog-changes] [--rate N] [--seconds N] [--flush-max-docs N]
 *     [--high-rate N] [--sweep R1,R2,...] [--sweep-seconds N] [--quick]
 *     [--embedded] [--emulator-in-process] [--profile-catchup FILE]
 *
 * --quick: a smoke run (20k backlog, 3 s phases, a 2k/10k sweep of 2 s each): `npm run bench`.
 *
 * Measures in ONE run, on one machine:
 *   1. baseline: `pg_recvlogical` (Debian's postgresql-client-15) decoding the backlog with
 *      pgoutput into /dev/null, process start to exit; also the server-side decode alone
 *      (pg_logical_slot_peek_binary_changes, no network protocol). Without pg_recvlogical
 *      (embedded Postgres) the peek is the baseline, a stricter one;
 *   2. catch-up: our stream (pgoutput, flow control, per-job batches) applying the same
 *      backlog into the null-sink emulator (`typesense-emulator --null-sink` in its own
 *      process, as Typesense would be) until the slot is acknowledged past its end
 *      (changes/s; ratio to 1, target >= 0.5x), with this process's CPU per change and the
 *      time its main thread waited for a core (CPU starvation on a shared machine);
 *   3. steady load: writers at --rate single-row updates/s (default 2k) for --seconds, then at
 *      --high-rate (default 10k), then a rate sweep (--sweep, --sweep-seconds each) whose knee
 *      is where lag starts to grow. Lag PER CHANGE: each update stamps its row with
 *      clock_timestamp() (ms, just before its commit); when Typesense confirms the import
 *      that carried the row, confirmation time minus that stamp is that change's lag
 *      (a change folded into a later one of the same row in the same batch is not seen:
 *      rare, the ids cycle over half the table). p50/p99 per phase. Also, as before, per
 *      flush (last / oldest commit of the checkpoint);
 *   4. peak RSS of this process (stream + load writer), sampled every 50 ms
 *      (target <= 256 MB).
 *
 * Source: BENCH_DATABASE_URL (a superuser URL) when set; else a throwaway Debian
 * PostgreSQL 15 cluster when .ci/install-postgres-wal2json.sh installed it; else (or with
 * --embedded) embedded PostgreSQL 18.
 */

import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import type { Checkpoint } from "../src/cdc/applier.js";
import { formatLsn, parseLsn } from "../src/cdc/lsn.js";
import { createCdcStream } from "../src/cdc/stream.js";
import type { CdcBackend } from "../src/cdc/writer.js";
import { migrate } from "../src/db/migrate.js";
import { startEmbeddedPostgres } from "../src/demo/embedded-postgres.js";
import { startEmulator } from "../src/emulator/index.js";
import { createLogger } from "../src/lifecycle/index.js";
import { createTypesenseBackend } from "../src/typesense/index.js";
import { PG15_BIN, startDebianCluster } from "../test/support/debian-postgres.js";
import { startEmulatorProcess } from "./emulator-process.js";
import { reportLoad } from "./load.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const QUICK = args.includes("--quick");
const BACKLOG = Number(args.find((a) => /^\d+$/.test(a)) ?? (QUICK ? 20_000 : 200_000));
const RATE = flag("--rate", 2000);
const HIGH_RATE = flag("--high-rate", 10_000);
const SECONDS = flag("--seconds", QUICK ? 3 : 20);
const SWEEP_SECONDS = flag("--sweep-seconds", QUICK ? 2 : 8);
const SWEEP = (
  args.includes("--sweep")
    ? args[args.indexOf("--sweep") + 1]!
    : QUICK
      ? "2000,10000"
      : "1000,2000,5000,10000,15000,20000,30000"
)
  .split(",")
  .map(Number);
const FLUSH_MAX = flag("--flush-max-docs", 1000);

const load0 = reportLoad("bench/cdc.ts");
let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50);
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};

const external = process.env.BENCH_DATABASE_URL;
// Debian's PostgreSQL 15 (.ci/install-postgres-wal2json.sh) when installed:
// it ships pg_recvlogical, the baseline the issue names; else embedded PG 18.
const RECVLOGICAL = join(PG15_BIN, "pg_recvlogical");
const useDebian = !external && !args.includes("--embedded") && existsSync(RECVLOGICAL);
const server = external
  ? null
  : useDebian
    ? await startDebianCluster({ synchronous_commit: "on" })
    : await startEmbeddedPostgres({ settings: { fsync: "off" } });
const adminUrl = external ?? server!.adminUrl;
const serverKind = external
  ? "BENCH_DATABASE_URL"
  : useDebian
    ? "Debian PostgreSQL 15"
    : "embedded PostgreSQL 18";
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const dbName = `bench_cdc_${Date.now()}`;
await admin.query(`create database ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const dbUrl = url.toString();
const pool = new pg.Pool({ connectionString: dbUrl, max: 24 });
// the final DROP DATABASE ... WITH (FORCE) ends idle connections: not an error here
pool.on("error", () => {});
const log = createLogger({ level: "warn" });
await migrate({ pool, dir: join(HERE, "..", "sql"), log });
// The null sink runs in its own process (like Typesense), so this process is
// the sidecar alone (CPU, RSS); --emulator-in-process keeps it here (as before
// 2026-11-23: an upper bound that also pays for the sink's JSON parsing).
const emulator = args.includes("--emulator-in-process")
  ? await startEmulator({ apiKey: "bench", nullSink: true })
  : await startEmulatorProcess({ apiKey: "bench", flag: "--null-sink" });
const typesense = createTypesenseBackend({
  nodes: [emulator.url],
  apiKey: "bench",
  timeoutMs: 30_000,
});
/** Per-change lags of the phase being measured (null: not measuring, e.g. catch-up). */
let changeLags: number[] | null = null;
const nowMs = () => performance.timeOrigin + performance.now();
const STAMP = /"changed_at":(-?[0-9.eE+]+)/;
/**
 * The stream's backend, with the lag of each change it carries: when an import resolves
 * (Typesense confirmed it), confirmation minus the row's clock_timestamp() stamp.
 */
const backend: CdcBackend = {
  importDocuments: async (collection, docs, options) => {
    const res = await typesense.importDocuments(collection, docs, options);
    if (changeLags) {
      const t = nowMs();
      for (const d of docs) {
        const v =
          typeof d === "string" ? Number(STAMP.exec(d)?.[1] ?? Number.NaN) : Number(d.changed_at);
        if (Number.isFinite(v)) changeLags.push(t - v);
      }
    }
    return res;
  },
  deleteDocuments: (c, ids) => typesense.deleteDocuments(c, ids),
  exportIds: (c) => typesense.exportIds(c),
  getCollection: (n) => typesense.getCollection(n),
  ensureCollection: (schema, o) => typesense.ensureCollection(schema, o),
  truncate: (c) => typesense.truncate(c),
};

await pool.query(`create table items (id bigint primary key, title text not null, price numeric(12,2),
  tags text[], updated timestamptz not null default now(), body text,
  changed_at double precision)`);
const profile = await pool.query<{ id: string }>(
  `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
   values ('bench', $1, 'plain:bench', 'ench') returning id`,
  [emulator.url],
);
await pool.query(
  `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
     collection_name, document_id_column, cdc_enabled) values ($1, 'bench', 'items', 'items', 'id', true)`,
  [profile.rows[0]!.id],
);

// only the lag fields: a checkpoint's written ids would make this process's RSS
// grow with the backlog (1M ids), which is the bench's memory, not the stream's
const checkpoints: Pick<Checkpoint, "lagMs" | "commitTimeMs" | "oldestCommitTimeMs">[] = [];
const keep = (c: Checkpoint) =>
  checkpoints.push({
    lagMs: c.lagMs,
    commitTimeMs: c.commitTimeMs,
    oldestCommitTimeMs: c.oldestCommitTimeMs,
  });
const ctl = new AbortController();
const stream = createCdcStream({
  clientName: "bench",
  control: pool,
  source: pool,
  sourceUrl: dbUrl,
  cdc: {
    enabled: true,
    plugin: "pgoutput",
    slot_prefix: "bench",
    flush_max_docs: FLUSH_MAX,
    flush_interval_ms: 50,
    heartbeat_ms: 10_000,
    park_after_ms: 60_000,
    park_probe_ms: 5000,
    ready_max_unhealthy_ms: 60_000,
  },
  backendFor: async () => backend,
  log,
  requestResync: async () => {},
  onCheckpoint: keep,
});
// Set the slot and publication up, then stop: the backlog accumulates without a reader.
let running = stream.run(ctl.signal);
const slotRow = async () =>
  (
    await pool.query<{ c: string | null }>(
      "select confirmed_flush_lsn::text as c from pg_replication_slots where slot_name = 'bench_bench'",
    )
  ).rows[0]?.c;
while (!(await slotRow())) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, 500));
ctl.abort();
await running;
await pool.query("select pg_create_logical_replication_slot('bench_peek', 'pgoutput')");
const canRecv = existsSync(RECVLOGICAL);
if (canRecv) {
  await pool.query("select pg_create_logical_replication_slot('bench_recv', 'pgoutput')");
  // a second pg_recvlogical run after the catch-up shows how much the baseline itself moves
  await pool.query("select pg_create_logical_replication_slot('bench_recv2', 'pgoutput')");
}

// Backlog: inserts then updates, in transactions of 1000 rows.
const half = Math.floor(BACKLOG / 2);
for (let i = 0; i < half; i += 1000) {
  await pool.query(
    `insert into items (id, title, price, tags, body)
     select g, 'title ' || g, g % 1000 + 0.99, array['a' || g % 7, 'b'], repeat('x', 200)
       from generate_series($1::bigint, $2::bigint) g`,
    [i + 1, Math.min(half, i + 1000)],
  );
}
for (let i = 0; i < BACKLOG - half; i += 1000) {
  await pool.query(
    "update items set title = title || '!', updated = now() where id between $1 and $2",
    [i + 1, Math.min(BACKLOG - half, i + 1000)],
  );
}
const endLsn = parseLsn(
  (await pool.query<{ l: string }>("select pg_current_wal_lsn()::text as l")).rows[0]!.l,
);

// 1a. baseline: pg_recvlogical with pgoutput decoding the same backlog over the
// replication protocol (the baseline), to /dev/null, up to the backlog's end
/** pg_recvlogical on `slot` up to the backlog's end: seconds, then the slot is dropped. */
async function recvlogical(slot: string): Promise<number> {
  const t = performance.now();
  await promisify(execFile)(RECVLOGICAL, [
    "-d",
    dbUrl,
    "--slot",
    slot,
    "--start",
    "--no-loop",
    "-E",
    formatLsn(endLsn),
    "-o",
    "proto_version=1",
    "-o",
    "publication_names=bench_bench",
    "-f",
    "/dev/null",
  ]);
  const secs = (performance.now() - t) / 1000;
  await pool.query("select pg_drop_replication_slot($1)", [slot]);
  return secs;
}
const recvSecs = canRecv ? await recvlogical("bench_recv") : Number.NaN;
const recvRate = BACKLOG / recvSecs;

// 1b. server-side pgoutput decoding of the same backlog without the network protocol
let t0 = performance.now();
const peek = await pool.query<{ n: string }>(
  `select count(*)::text as n from pg_logical_slot_peek_binary_changes('bench_peek', null, null,
     'proto_version', '1', 'publication_names', 'bench_bench')`,
);
const baseSecs = (performance.now() - t0) / 1000;
const baseRate = BACKLOG / baseSecs;
await pool.query("select pg_drop_replication_slot('bench_peek')");

// 2. catch-up into the null sink
const stream2 = createCdcStream({
  clientName: "bench",
  control: pool,
  source: pool,
  sourceUrl: dbUrl,
  cdc: {
    enabled: true,
    plugin: "pgoutput",
    slot_prefix: "bench",
    flush_max_docs: FLUSH_MAX,
    flush_interval_ms: 50,
    heartbeat_ms: 10_000,
    park_after_ms: 60_000,
    park_probe_ms: 5000,
    ready_max_unhealthy_ms: 60_000,
  },
  backendFor: async () => backend,
  log,
  requestResync: async () => {},
  onCheckpoint: keep,
});
const ctl2 = new AbortController();
t0 = performance.now();
const cpu0 = process.cpuUsage();
const runDelay0 = runQueueWaitMs();
// --profile-catchup FILE: a CPU profile of the catch-up only (chrome devtools format)
const profFile = args.includes("--profile-catchup")
  ? (args[args.indexOf("--profile-catchup") + 1] ?? "catchup.cpuprofile")
  : "";
const inspector = profFile ? new (await import("node:inspector")).Session() : null;
const post = (m: string) =>
  new Promise<unknown>((res, rej) => inspector!.post(m, (e, r) => (e ? rej(e) : res(r))));
if (inspector) {
  inspector.connect();
  await post("Profiler.enable");
  await post("Profiler.start");
}
running = stream2.run(ctl2.signal);
while (parseLsn(await slotRow()) < endLsn) await new Promise((r) => setTimeout(r, 20));
const catchSecs = (performance.now() - t0) / 1000;
const catchRate = BACKLOG / catchSecs;
const cpu1 = process.cpuUsage(cpu0);
const catchRunDelay = runQueueWaitMs() - runDelay0;
const loadCatch = loadavg()
  .map((l) => l.toFixed(2))
  .join(" ");
const catchRss = peakRss;
if (inspector) {
  const { profile } = (await post("Profiler.stop")) as { profile: unknown };
  (await import("node:fs")).writeFileSync(profFile, JSON.stringify(profile));
  inspector.disconnect();
}
const catchCpu = (cpu1.user + cpu1.system) / 1e6;

// 1c. the baseline again, after the catch-up (same backlog, its own slot)
const recv2Secs = canRecv ? await recvlogical("bench_recv2") : Number.NaN;
const recv2Rate = BACKLOG / recv2Secs;

// 3. steady load: 2k/s, 10k/s, then the rate sweep (same stream, one phase after the other)
const steady = await steadyPhase(RATE, SECONDS);
const high = await steadyPhase(HIGH_RATE, SECONDS);
const sweep: Phase[] = [];
for (const r of SWEEP) sweep.push(await steadyPhase(r, SWEEP_SECONDS));
await new Promise((r) => setTimeout(r, 500));
ctl2.abort();
await running;
const knee = kneeOf(sweep);
clearInterval(rssTimer);

const base = Number.isFinite(recvRate) ? recvRate : baseRate;
const lines = [
  `CDC benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, Node ${process.version}, ${serverKind}, load before ${load0}`,
  `cdc.flush_max_docs ${FLUSH_MAX}; backlog: ${BACKLOG} changes (${half} inserts + ${BACKLOG - half} updates, 1000 rows per transaction)`,
  `baseline pgoutput decode (peek_binary_changes, ${peek.rows[0]!.n} messages): ${baseRate.toFixed(0)} changes/s (${baseSecs.toFixed(2)} s)`,
  `baseline pg_recvlogical pgoutput -> /dev/null: ${recvRate.toFixed(0)} changes/s (${recvSecs.toFixed(2)} s)`,
  `stream catch-up into null sink: ${catchRate.toFixed(0)} changes/s (${catchSecs.toFixed(2)} s), ratio ${(catchRate / base).toFixed(2)}x of ${Number.isFinite(recvRate) ? "pg_recvlogical" : "peek"} (target >= 0.5x)`,
  `baseline pg_recvlogical again, after the catch-up: ${recv2Rate.toFixed(0)} changes/s (${recv2Secs.toFixed(2)} s); ratio to it ${(catchRate / recv2Rate).toFixed(2)}x`,
  `  this process's CPU during catch-up: ${catchCpu.toFixed(2)} s of ${catchSecs.toFixed(2)} s wall (${((100 * catchCpu) / catchSecs).toFixed(0)}%, ${((1e6 * catchCpu) / BACKLOG).toFixed(1)} us per change), main thread runnable but waiting for a core ${(catchRunDelay / 1000).toFixed(2)} s; peak RSS so far ${mb(catchRss)}`,
  `  load average after catch-up: ${loadCatch}`,
  ...phaseLines(`steady ${RATE}/s`, steady, "targets p50 <= 10, p99 <= 25"),
  ...phaseLines(`steady ${HIGH_RATE}/s`, high, "target p99 <= 100"),
  `rate sweep (${SWEEP_SECONDS} s each; per-change lag p50 / p99, achieved rate):`,
  ...sweep.map(
    (p) =>
      `  ${String(p.rate).padStart(6)}/s: p50 ${fmt(pct(p.lags, 50))} ms, p99 ${fmt(pct(p.lags, 99))} ms, achieved ${p.achieved.toFixed(0)}/s`,
  ),
  `  knee: ${knee}`,
  `peak RSS of this process (stream + load writer${args.includes("--emulator-in-process") ? " + emulator" : ""}): ${mb(peakRss)} (target <= 256 MB)`,
];
process.stdout.write(`${lines.join("\n")}\n`);

await typesense.close();
await emulator.close();
await pool.end();
await admin.query(`drop database ${dbName} with (force)`).catch(() => {});
await admin.end();
await server?.stop();

interface Phase {
  rate: number;
  seconds: number;
  sent: number;
  achieved: number;
  /** Per change: Typesense confirmation of the write that carried it minus its stamp, ms. */
  lags: number[];
  /** Per flush (checkpoint): lag of its last commit, and of its oldest. */
  flushLow: number[];
  flushHigh: number[];
}

/**
 * Writers at `rate` single-row updates/s for `seconds` (enough of them that one slow
 * round trip does not cap the rate; each paces itself), then 500 ms for the tail to land.
 */
async function steadyPhase(rate: number, seconds: number): Promise<Phase> {
  checkpoints.length = 0;
  const lags: number[] = [];
  changeLags = lags;
  const n = Math.min(20, Math.max(4, Math.ceil(rate / 1000)));
  const interval = (1000 / rate) * n;
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  let sent = 0;
  const writers = Array.from({ length: n }, async (_, w) => {
    let next = performance.now();
    while (performance.now() < stopAt) {
      const id = 1 + ((sent++ * 7919 + w) % half);
      await pool.query(
        `update items set price = price + 1, updated = now(),
           changed_at = extract(epoch from clock_timestamp()) * 1000 where id = $1`,
        [id],
      );
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  });
  await Promise.all(writers);
  const achieved = sent / ((performance.now() - t0) / 1000);
  await new Promise((r) => setTimeout(r, 500));
  changeLags = null;
  const fresh = checkpoints.filter((c) => Number.isFinite(c.lagMs));
  return {
    rate,
    seconds,
    sent,
    achieved,
    lags,
    flushLow: fresh.map((c) => c.lagMs),
    flushHigh: fresh.map((c) => c.lagMs + (c.commitTimeMs - c.oldestCommitTimeMs || 0)),
  };
}

function fmt(ms: number): string {
  return ms < 10 ? ms.toFixed(1) : ms.toFixed(0);
}

function phaseLines(name: string, p: Phase, targets: string): string[] {
  return [
    `${name}: ${p.sent} updates in ${p.seconds} s (${p.achieved.toFixed(0)}/s achieved), ${p.flushLow.length} flushes, ${p.lags.length} changes seen`,
    `  lag per change, ${name} (commit stamp -> Typesense confirmation): p50 ${fmt(pct(p.lags, 50))} ms, p99 ${fmt(pct(p.lags, 99))} ms (${targets})`,
    `  lag per flush, last / oldest commit: p50 ${fmt(pct(p.flushLow, 50))} / ${fmt(pct(p.flushHigh, 50))} ms, p99 ${fmt(pct(p.flushLow, 99))} / ${fmt(pct(p.flushHigh, 99))} ms`,
  ];
}

/**
 * Where lag starts to grow: the first swept rate whose per-change p99 is over twice the
 * lowest rate's (and over 25 ms), or that the writers could not reach (< 90 %: the
 * source, not the stream, is the limit there, said so).
 */
function kneeOf(phases: Phase[]): string {
  if (phases.length === 0) return "no sweep";
  const ref = pct(phases[0]!.lags, 99);
  for (let i = 1; i < phases.length; i++) {
    const p = phases[i]!;
    const p99 = pct(p.lags, 99);
    if (p.achieved < 0.9 * p.rate) {
      return `not reached: lag did not grow up to ${phases[i - 1]!.rate}/s, and at ${p.rate}/s the load writers reached only ${p.achieved.toFixed(0)}/s (the source or this machine is the limit there, not the stream)`;
    }
    if (p99 > Math.max(2 * ref, 25)) {
      return `between ${phases[i - 1]!.rate}/s and ${p.rate}/s (p99 ${fmt(p99)} ms vs ${fmt(ref)} ms at ${phases[0]!.rate}/s)`;
    }
  }
  return `above ${phases[phases.length - 1]!.rate}/s (p99 never over twice ${fmt(ref)} ms)`;
}

/**
 * Time the main thread spent runnable but not running (waiting for a core), from
 * /proc/self/schedstat (2nd field, ns; Linux only, else NaN): tells CPU starvation on a
 * shared machine apart from waiting on Postgres or the sink.
 */
function runQueueWaitMs(): number {
  try {
    return Number(readFileSync("/proc/self/schedstat", "utf8").split(" ")[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}
