/**
 * Many jobs on one instance (issue 18 point 4).
 *
 *   npx tsx bench/many-jobs.ts [jobs] [--quick] [--idle-seconds N] [--poll-ms N]
 *     [--status-calls N] [--page-calls N] [--due-jobs N] [--embedded]
 *
 * --quick: 50 jobs, a 15 s idle window, 50 status calls (`npm run bench`).
 *
 * Builds, through the HTTP API of a real `serve` CHILD process (src/main.ts serve, as an
 * operator runs it; the measured process is that child alone):
 *   - ceil(jobs / 25) source databases on one Postgres, 25 small tables each (20 rows),
 *     one source client per database (so one CDC stream per database);
 *   - one backend (the indexing emulator, in its own process) and `jobs` jobs, every
 *     other one with CDC on (half of them);
 * waits until every job is synced (sync_health healthy and, for CDC jobs, its stream
 * streaming), then measures against the targets:
 *   1. idle CPU of the serve process over --idle-seconds (default 60): utime + stime from
 *      /proc/<pid>/stat, as % of one core (target <= 2 %);
 *   2. its RSS (VmRSS) after the idle window (target <= 300 MB);
 *   3. `GET /typesense/sync-jobs/status` (every job) p95 over --status-calls (default 200)
 *      sequential calls (target <= 50 ms);
 *   4. the console status page (GET /console/status with a signed-in session) p95 over
 *      --page-calls (default 20) (target <= 200 ms);
 *   5. a due job starts within one poll interval: --due-jobs (default 10) non-CDC jobs get
 *      next_sync_at spread over the coming poll interval; for each, its run's started_at
 *      minus next_sync_at (target: max <= --poll-ms, default 5000; the config's default
 *      is 30000, a shorter one makes the idle window the stricter).
 * Prints a table with the targets, and the load average before the start (bench/load.ts).
 *
 * Source: BENCH_DATABASE_URL (a superuser URL) when set; else a throwaway Debian
 * PostgreSQL 15 cluster when installed (.ci/install-postgres-wal2json.sh); else (or with
 * --embedded) embedded PostgreSQL 18.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort, startEmbeddedPostgres } from "../src/demo/embedded-postgres.js";
import { PG15_BIN, startDebianCluster } from "../test/support/debian-postgres.js";
import { startEmulatorProcess } from "./emulator-process.js";
import { reportLoad } from "./load.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN = join(HERE, "..", "src", "main.ts");
const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const QUICK = args.includes("--quick");
const JOBS = Number(args.find((a) => /^\d+$/.test(a)) ?? (QUICK ? 50 : 500));
const TABLES_PER_DB = 25;
const ROWS_PER_TABLE = 20;
const DBS = Math.ceil(JOBS / TABLES_PER_DB);
const IDLE_SECONDS = flag("--idle-seconds", QUICK ? 15 : 60);
const POLL_MS = flag("--poll-ms", 5000);
const STATUS_CALLS = flag("--status-calls", QUICK ? 50 : 200);
const PAGE_CALLS = flag("--page-calls", QUICK ? 10 : 20);
const DUE_JOBS = flag("--due-jobs", QUICK ? 5 : 10);
const ADMIN_KEY = "bench-admin-key-0123456789";
const TS_KEY = "bench-ts-key";

const load0 = reportLoad("bench/many-jobs.ts");
/** Undone on a crash too: the serve child, the emulator and the cluster must not outlive us. */
const cleanups: (() => Promise<unknown>)[] = [];
async function cleanUp(): Promise<void> {
  for (const f of cleanups.reverse()) await f().catch(() => {});
  cleanups.length = 0;
}
const crashed = (e: unknown) => {
  process.stderr.write(`bench/many-jobs.ts failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  void cleanUp().then(() => process.exit(1));
};
process.on("uncaughtException", crashed);
process.on("unhandledRejection", crashed);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};
const say = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- Postgres and emulator
const external = process.env.BENCH_DATABASE_URL;
const useDebian =
  !external && !args.includes("--embedded") && existsSync(join(PG15_BIN, "pg_recvlogical"));
// 20 clients x (pool + leader lock + replication) + control pool: well over 100
const PG_SETTINGS = { max_connections: "400", max_replication_slots: "64", max_wal_senders: "64" };
const server = external
  ? null
  : useDebian
    ? await startDebianCluster(PG_SETTINGS)
    : await startEmbeddedPostgres({ settings: { fsync: "off", ...PG_SETTINGS } });
if (server) cleanups.push(() => server.stop());
const adminUrl = external ?? server!.adminUrl;
const serverKind = external ? "BENCH_DATABASE_URL" : useDebian ? "Debian PG 15" : "embedded PG 18";
const urlOf = (db: string) => {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
};
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
const tag = `mj${Date.now().toString(36)}`;
const controlDb = `${tag}_control`;
const sourceDbs = Array.from({ length: DBS }, (_, i) => `${tag}_src${String(i).padStart(2, "0")}`);
cleanups.push(async () => {
  for (const db of [controlDb, ...sourceDbs]) {
    await admin.query(`drop database if exists ${db} with (force)`).catch(() => {});
  }
  // slots of the dropped databases went with them
  await admin.end();
});
for (const db of [controlDb, ...sourceDbs]) await admin.query(`create database ${db}`);
const tableName = (t: number) => `t${String(t).padStart(2, "0")}`;
for (const db of sourceDbs) {
  const c = new pg.Client({ connectionString: urlOf(db) });
  await c.connect();
  for (let t = 0; t < TABLES_PER_DB; t++) {
    await c.query(`create table ${tableName(t)} (id bigint primary key, title text not null, n int not null);
      insert into ${tableName(t)} select g, 'row ' || g, g from generate_series(1, ${ROWS_PER_TABLE}) g`);
  }
  await c.end();
}
// the indexing emulator (no --null-sink): the status page and searches see real collections
const emulator = await startEmulatorProcess({ apiKey: TS_KEY, flag: "--host=127.0.0.1" });
cleanups.push(() => emulator.close());

// ---------------------------------------------------------------- serve, as a child
const dir = mkdtempSync(join(tmpdir(), "bench-many-jobs-"));
const port = await freePort();
const clients = Object.fromEntries(
  sourceDbs.map((db, i) => [`src${i}`, { url: urlOf(db), pool_max: 3 }]),
);
const config = {
  server: { host: "127.0.0.1", port },
  control_database_url: urlOf(controlDb),
  postgres_clients: clients,
  auth: { admin_key: ADMIN_KEY },
  typesense: { allow_http: true, sync_worker_poll_ms: POLL_MS },
  fullsync: { max_concurrent_runs: 4 },
  cdc: { slot_prefix: tag },
  log: { level: "warn" },
};
// JSON is YAML
writeFileSync(join(dir, "config.yaml"), JSON.stringify(config, null, 2));
const serve: ChildProcess = spawn(
  process.execPath,
  ["--import", "tsx", MAIN, "serve", "-c", join(dir, "config.yaml")],
  { stdio: ["ignore", "ignore", "inherit"], env: { PATH: process.env.PATH ?? "" } },
);
cleanups.push(async () => {
  if (serve.exitCode !== null || serve.signalCode !== null) return;
  serve.kill("SIGTERM");
  await new Promise((r) => serve.once("exit", r));
});
cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
const base = `http://127.0.0.1:${port}`;
const headers = { "x-athena-key": ADMIN_KEY, "content-type": "application/json" };
async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as { data: T; message: string };
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.message}`);
  return json.data;
}
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health`)).ok) break;
  } catch {}
  if (i > 1200) throw new Error("serve did not start");
  await sleep(50);
}

// ---------------------------------------------------------------- jobs, through the API
const t0 = Date.now();
const backend = await call<{ id: string }>("POST", "/typesense/backends", {
  name: "bench",
  base_url: emulator.url,
  api_key: TS_KEY,
});
const jobIds: { id: string; cdc: boolean }[] = [];
for (let j = 0; j < JOBS; j++) {
  const db = Math.floor(j / TABLES_PER_DB);
  const cdc = j % 2 === 0;
  const job = await call<{ id: string }>("POST", "/typesense/sync-jobs", {
    profile_id: backend.id,
    source_client_name: `src${db}`,
    source_table_name: tableName(j % TABLES_PER_DB),
    collection_name: `${tag}_c${j}`,
    document_id_column: "id",
    queryable_fields: ["title"],
    cdc_enabled: cdc,
    // no scheduled re-sync during the bench: the idle window is idle
    sync_interval_seconds: 86_400,
    stale_after_seconds: 86_400 * 7,
  });
  jobIds.push({ id: job.id, cdc });
}
const createdMs = Date.now() - t0;
say(`many-jobs: ${JOBS} jobs over ${DBS} databases created in ${(createdMs / 1000).toFixed(1)} s`);

interface StatusRow {
  id: string;
  sync_health: string;
  cdc_enabled: boolean;
  cdc_status: string | null;
}
const ready = (r: StatusRow) =>
  r.sync_health === "healthy" && (!r.cdc_enabled || r.cdc_status === "streaming");
for (let last = ""; ; ) {
  const rows = await call<StatusRow[]>("GET", "/typesense/sync-jobs/status");
  const done = rows.filter(ready).length;
  const line = `many-jobs: ${done}/${rows.length} synced`;
  if (line !== last) say(line);
  last = line;
  if (done === JOBS) break;
  if (Date.now() - t0 > 30 * 60_000) throw new Error(`not all synced after 30 min: ${line}`);
  await sleep(2000);
}
const syncedMs = Date.now() - t0;

// ---------------------------------------------------------------- 1, 2: idle CPU, RSS
const TICK = 100; // USER_HZ: clock ticks per second of /proc/<pid>/stat
function cpuMs(pid: number): number {
  // fields after the ")" of comm: state is field 3, utime 14, stime 15
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
}
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const pid = serve.pid!;
/** Committed transactions of the control and of all source databases (the profile of idle work). */
async function xacts(): Promise<{ control: number; sources: number }> {
  const r = await admin.query<{ control: string; sources: string }>(
    `select coalesce(sum(xact_commit) filter (where datname = $1), 0) as control,
            coalesce(sum(xact_commit) filter (where datname = any($2)), 0) as sources
       from pg_stat_database`,
    [controlDb, sourceDbs],
  );
  return { control: Number(r.rows[0]!.control), sources: Number(r.rows[0]!.sources) };
}
await sleep(3000); // the last runs' and streams' settling is not idle time
const x0 = await xacts();
const cpu0 = cpuMs(pid);
const w0 = performance.now();
await sleep(IDLE_SECONDS * 1000);
const idleWallMs = performance.now() - w0;
const idlePct = ((cpuMs(pid) - cpu0) / idleWallMs) * 100;
const x1 = await xacts();
// pg_stat_database is updated by backends with a delay (<= 1 s): a rate, not a count
const idleXacts = {
  control: ((x1.control - x0.control) * 1000) / idleWallMs,
  sources: ((x1.sources - x0.sources) * 1000) / idleWallMs,
};
const rss = rssMb(pid);

// ---------------------------------------------------------------- 3: status route
async function timed(path: string, init: RequestInit): Promise<number> {
  const s = performance.now();
  const res = await fetch(`${base}${path}`, init);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return performance.now() - s;
}
const statusMs: number[] = [];
for (let i = 0; i < STATUS_CALLS; i++) {
  statusMs.push(await timed("/typesense/sync-jobs/status", { headers }));
}

// ---------------------------------------------------------------- 4: console status page
const login = await fetch(`${base}/console/login`, {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
  body: new URLSearchParams({ key: ADMIN_KEY, client: "" }).toString(),
  redirect: "manual",
});
const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0]!;
if (login.status !== 303 || !cookie) throw new Error(`console sign-in: ${login.status}`);
const pageMs: number[] = [];
for (let i = 0; i < PAGE_CALLS; i++) {
  pageMs.push(await timed("/console/status", { headers: { cookie }, redirect: "manual" }));
}

// ---------------------------------------------------------------- 5: due job start delay
const control = new pg.Client({ connectionString: urlOf(controlDb) });
await control.connect();
const due = jobIds.filter((j) => !j.cdc).slice(0, DUE_JOBS);
// spread over the coming poll interval: a due time anywhere between two polls
const dueRows = await control.query<{ id: string; due: Date }>(
  `update typesense_sync_jobs j set next_sync_at = now() + make_interval(secs => x.o / 1000.0)
     from unnest($1::uuid[], $2::float8[]) as x(id, o) where j.id = x.id
   returning j.id, j.next_sync_at as due`,
  [due.map((j) => j.id), due.map((_, i) => (i * POLL_MS) / Math.max(1, due.length))],
);
const dueAt = new Map(dueRows.rows.map((r) => [r.id, r.due.getTime()]));
const startDelays: number[] = [];
const dueDeadline = Date.now() + POLL_MS * 3 + 30_000;
while (startDelays.length < due.length && Date.now() < dueDeadline) {
  await sleep(250);
  const r = await control.query<{ job_id: string; started_at: Date }>(
    `select distinct on (job_id) job_id, started_at from typesense_sync_runs
      where job_id = any($1::uuid[]) and started_at is not null order by job_id, started_at desc`,
    [due.map((j) => j.id)],
  );
  startDelays.length = 0;
  for (const x of r.rows) {
    const d = x.started_at.getTime() - dueAt.get(x.job_id)!;
    if (d >= -1000) startDelays.push(Math.max(0, d));
  }
}
await control.end();

// ---------------------------------------------------------------- report
const row = (what: string, value: string, target: string, ok: boolean) =>
  `| ${what} | ${value} | ${target} | ${ok ? "met" : "SHORT"} |`;
const statusP95 = pct(statusMs, 95);
const pageP95 = pct(pageMs, 95);
const dueMax = startDelays.length === due.length ? Math.max(...startDelays) : Number.NaN;
process.stdout.write(
  [
    "",
    `many-jobs: ${JOBS} jobs (${Math.ceil(JOBS / 2)} with CDC) over ${DBS} source databases x ${TABLES_PER_DB} tables (${ROWS_PER_TABLE} rows), ${serverKind}; poll ${POLL_MS} ms`,
    `load average before start: ${load0}; created in ${(createdMs / 1000).toFixed(1)} s, all synced after ${(syncedMs / 1000).toFixed(1)} s`,
    "",
    `idle statements (transactions/s, from pg_stat_database): control DB ${idleXacts.control.toFixed(1)}, source DBs ${idleXacts.sources.toFixed(1)} (all ${DBS})`,
    "",
    "| figure | value | target | |",
    "|---|---|---|---|",
    row(
      `idle CPU of serve (${IDLE_SECONDS} s)`,
      `${idlePct.toFixed(2)} % of a core`,
      "<= 2 %",
      idlePct <= 2,
    ),
    row("RSS of serve", `${rss.toFixed(0)} MB`, "<= 300 MB", rss <= 300),
    row(
      `GET /typesense/sync-jobs/status p95 (${STATUS_CALLS} calls)`,
      `${statusP95.toFixed(1)} ms (p50 ${pct(statusMs, 50).toFixed(1)})`,
      "<= 50 ms",
      statusP95 <= 50,
    ),
    row(
      `console status page p95 (${PAGE_CALLS} calls)`,
      `${pageP95.toFixed(1)} ms (p50 ${pct(pageMs, 50).toFixed(1)})`,
      "<= 200 ms",
      pageP95 <= 200,
    ),
    row(
      `due job start delay, max of ${due.length}`,
      Number.isNaN(dueMax)
        ? `${startDelays.length}/${due.length} started`
        : `${dueMax.toFixed(0)} ms (p50 ${pct(startDelays, 50).toFixed(0)})`,
      `<= ${POLL_MS} ms (one poll)`,
      dueMax <= POLL_MS,
    ),
    "",
  ].join("\n"),
);

// ---------------------------------------------------------------- teardown
await cleanUp();
process.exit(0);
