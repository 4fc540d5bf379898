/**
 * Full-sync benchmark (issue 6 point 7).
 *
 *   npx tsx bench/full-sync.ts [rows] [--window N] [--indexed-rows N] [--in-flight N]
 *                              [--alternate K] [--quick] [--js]
 *
 * --in-flight N: the engine's maxWindowsInFlight (default: the engine's, 2).
 * --alternate K: first runs "null sink, saga off" K times with documents built
 *   in JS and rendered by Postgres, alternating (A/B on one machine).
 *   With --alternate-read-ahead: 1 vs 2 windows read ahead instead.
 * --read-ahead N: the engine's readAheadWindows (default: the engine's, 2).
 * --js: the main scenarios use the JS document path (renderDocumentsInSql off).
 * --quick: only the null-sink scenarios (no indexing emulator).
 *
 * Measures in ONE run, on one machine:
 *   1. baseline: `COPY (SELECT row_to_json(t) FROM t) TO STDOUT` of the table (rows/s);
 *   2. our full sync into the null-sink emulator, saga off and saga on (rows/s, ratio
 *      to the baseline, target >= 0.5x; the saga's extra cost separately);
 *   3. the indexing emulator's own import ceiling, and our full sync into it;
 *   4. the sidecar's peak RSS (target <= 256 MB): every engine run happens in a child
 *      process (this file with --child), which samples its RSS; Postgres and the
 *      emulators live elsewhere, as they would in production.
 *
 * Uses BENCH_DATABASE_URL (a superuser URL) when set, else starts embedded Postgres.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { migrate } from "../src/db/migrate.js";
import { startEmbeddedPostgres } from "../src/demo/embedded-postgres.js";
import { startEmulator } from "../src/emulator/index.js";
import { createFullSyncEngine, type RunResult } from "../src/fullsync/index.js";
import { createLogger } from "../src/lifecycle/index.js";
import { createTypesenseBackend } from "../src/typesense/index.js";
import { reportLoad } from "./load.js";
import { createStatementCpu, type Phase } from "./statement-cpu.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const SQL_DIR = join(HERE, "..", "sql");
const API_KEY = "bench-key";

interface ChildConfig {
  controlUrl: string;
  sourceUrl: string;
  typesenseUrl: string;
  jobId: string;
  saga: boolean;
  windowSize: number;
  maxWindowsInFlight?: number;
  readAheadWindows?: number;
  /** false: documents built in JS (engine renderDocumentsInSql). */
  sqlDocuments: boolean;
  /** engine contentHashes (fullsync.content_hashes; off by default) */
  contentHashes?: boolean;
  /** The Postgres server's postmaster (its CPU is sampled at the first checkpoint). */
  postmasterPid: number;
}

interface ChildReport {
  result: RunResult;
  elapsedMs: number;
  peakRssMb: number;
  maxRssMb: number;
  /** CPU time of the sidecar process (user + system) during the run, ms. */
  cpuMs: number;
  /** Of which kernel time (system), ms: mostly socket reads and writes. */
  sysMs: number;
  /** Until the first window's checkpoint (manifest build + one window): wall, sidecar and Postgres CPU, ms. */
  firstWindow: { wallMs: number; cpuMs: number; pgCpuMs: number };
  /** Postgres backend CPU per phase (statement-cpu.ts), ms. */
  phases: { phase: Phase; ms: number; statements: number }[];
  /** Typesense backend calls of the run (each one HTTP request, or one streamed export). */
  requests: number;
}

// ---------------------------------------------------------------- child: one engine run
async function child(cfg: ChildConfig): Promise<void> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const control = new pg.Pool({ connectionString: cfg.controlUrl, max: 4 });
  const source = new pg.Pool({ connectionString: cfg.sourceUrl, max: 4 });
  const statementCpu = createStatementCpu();
  statementCpu.instrument(control, "control");
  statementCpu.instrument(source, "source");
  const firstWindow = { wallMs: 0, cpuMs: 0, pgCpuMs: 0 };
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  let pg0 = 0;
  const backend = createTypesenseBackend({
    nodes: [cfg.typesenseUrl],
    apiKey: API_KEY,
    timeoutMs: 120_000,
  });
  let requests = 0;
  // every backend call counted (the re-sync's "Typesense requests per 10k rows")
  const counted = new Proxy(backend, {
    get(target, key, recv) {
      const v = Reflect.get(target, key, recv) as unknown;
      if (typeof v !== "function" || key === "close") return v;
      return (...a: unknown[]) => {
        requests++;
        return (v as (...x: unknown[]) => unknown).apply(target, a);
      };
    },
  });
  const engine = createFullSyncEngine({
    control,
    source: () => source,
    backendFor: async () => counted,
    owner: "bench",
    log: createLogger({ level: "warn", destination: process.stderr }),
    importMaxAttempts: 3,
    importRetryBaseMs: 400,
    sagaBackupEnabled: cfg.saga,
    leaseTtlMs: 60_000,
    windowSize: cfg.windowSize,
    renderDocumentsInSql: cfg.sqlDocuments,
    contentHashes: cfg.contentHashes === true,
    ...(cfg.readAheadWindows ? { readAheadWindows: cfg.readAheadWindows } : {}),
    onWindowCommitted: () => {
      if (firstWindow.wallMs > 0) return;
      const c = process.cpuUsage(cpu0);
      firstWindow.wallMs = performance.now() - t0;
      firstWindow.cpuMs = (c.user + c.system) / 1000;
      firstWindow.pgCpuMs = postgresCpuMs(cfg.postmasterPid) - pg0;
    },
    ...(cfg.maxWindowsInFlight ? { maxWindowsInFlight: cfg.maxWindowsInFlight } : {}),
  });
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  pg0 = postgresCpuMs(cfg.postmasterPid);
  const result = await engine.runJob(cfg.jobId, { trigger: "cli" });
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const report: ChildReport = {
    result,
    elapsedMs,
    peakRssMb: peak / 2 ** 20,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    cpuMs: (cpu.user + cpu.system) / 1000,
    sysMs: cpu.system / 1000,
    firstWindow,
    phases: statementCpu.report(),
    requests,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await backend.close();
  await Promise.all([control.end(), source.end()]);
}

function runChild(cfg: ChildConfig): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        ...(process.argv.includes("--cpu-prof")
          ? ["--cpu-prof", "--cpu-prof-dir=/tmp/fullsync-prof"]
          : []),
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "--child",
        JSON.stringify(cfg),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    proc.stdout.on("data", (d) => {
      out += String(d);
    });
    proc.on("error", reject);
    proc.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`bench child exited with ${code}`));
      resolve(JSON.parse(out.trim().split("\n").pop() ?? "{}") as ChildReport);
    });
  });
}

// ---------------------------------------------------------------- parent
function arg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
}

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

/** ~400-byte rows: the row_to_json text of a row averages about 400 bytes. */
async function fillTable(source: pg.Pool, table: string, rows: number): Promise<number> {
  await source.query(`create table ${table} (
    id bigint primary key, sku text not null, title text not null, description text,
    price numeric(10,2), qty int4, active bool, tags text[], created_at timestamptz)`);
  await source.query(
    `insert into ${table}
     select g, 'SKU-' || lpad(g::text, 9, '0'), 'Product number ' || g || ' ' || md5(g::text),
            repeat(md5((g * 7)::text) || ' ', 6), (g % 100000) / 100.0, g % 5000, g % 3 <> 0,
            array['tag' || (g % 17), 'tag' || (g % 101), 'all'],
            timestamptz '2024-01-01' + make_interval(secs => g)
       from generate_series(1, $1) g`,
    [rows],
  );
  await source.query(`vacuum analyze ${table}`);
  const r = await source.query<{ avg: string }>(
    `select avg(length(row_to_json(t)::text))::int as avg from ${table} t`,
  );
  return Number(r.rows[0]?.avg ?? 0);
}

async function copyBaseline(source: pg.Pool, table: string): Promise<number> {
  const c = await source.connect();
  try {
    const t0 = performance.now();
    await pipeline(
      c.query(copyTo(`copy (select row_to_json(t) from ${table} t) to stdout`)),
      new Writable({
        write(_chunk: Buffer, _e, cb) {
          cb(); // discard: the baseline is Postgres producing the JSON
        },
      }),
    );
    return performance.now() - t0;
  } finally {
    c.release();
  }
}

async function insertJob(control: pg.Pool, table: string, collection: string, url: string) {
  const p = await control.query<{ id: string }>(
    `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
     values ($1, $2, $3, 'y') returning id`,
    [`bench-${collection}`, url, `plain:${API_KEY}`],
  );
  const j = await control.query<{ id: string }>(
    `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
       collection_name, document_id_column) values ($1, 'bench', $2, $3, 'id') returning id`,
    [p.rows[0]!.id, table, collection],
  );
  return j.rows[0]!.id;
}

async function importCeiling(url: string, source: pg.Pool, table: string, rows: number) {
  // the indexing emulator's own limit: pre-built docs, 1000 per import request
  const backend = createTypesenseBackend({ nodes: [url], apiKey: API_KEY, timeoutMs: 120_000 });
  const collection = `ceiling_${randomBytes(3).toString("hex")}`;
  await backend.createCollection({
    name: collection,
    fields: [
      { name: "title", type: "string" },
      { name: "description", type: "string" },
    ],
  });
  const r = await source.query<{ doc: string }>(
    `select row_to_json(t)::text as doc from (select id::text as id, sku, title, description, price,
            qty, active, tags from ${table} where id <= $1) t`,
    [rows],
  );
  const lines = r.rows.map((x) => x.doc);
  const t0 = performance.now();
  for (let i = 0; i < lines.length; i += 1000) {
    await backend.importDocuments(collection, lines.slice(i, i + 1000), { action: "upsert" });
  }
  const ms = performance.now() - t0;
  await backend.deleteCollection(collection);
  await backend.close();
  return (lines.length / ms) * 1000;
}

/**
 * CPU (ms) used so far by one Postgres server: its postmaster and the
 * postmaster's children, including children it already reaped
 * (cutime/cstime): the server's share of a scenario, by difference. Linux
 * /proc, 100 ticks/s.
 */
function postgresCpuMs(postmaster: number): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // after the comm: state ppid ... utime(11) stime(12) cutime(13) cstime(14)
      if (Number(pid) !== postmaster && Number(f[1]) !== postmaster) continue;
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // the process exited meanwhile
    }
  }
  return ticks * 10;
}

async function postmasterPid(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ pid: number }>("select pg_backend_pid() as pid");
  const stat = readFileSync(`/proc/${r.rows[0]!.pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * Per-row CPU of each process: Postgres by phase (its backends' CPU per
 * statement class, statement-cpu.ts; "server rest" = the server's total minus
 * the attributed backends: background processes, connection start-up), the
 * sidecar and the emulator whole (their phases overlap in one process each).
 */
function logPhases(
  report: ChildReport,
  rows: number,
  pgMs: number,
  emu: NodeJS.CpuUsage,
  log: (s: string) => void,
): void {
  const us = (ms: number) => ((ms * 1000) / rows).toFixed(2);
  const attributed = report.phases.reduce((a, p) => a + p.ms, 0);
  log("  | process / phase | statements | CPU ms | us/row |");
  log("  |---|---|---|---|");
  for (const p of [...report.phases].sort((a, b) => b.ms - a.ms)) {
    log(`  | Postgres: ${p.phase} | ${fmt(p.statements)} | ${fmt(p.ms)} | ${us(p.ms)} |`);
  }
  log(`  | Postgres: server rest | - | ${fmt(pgMs - attributed)} | ${us(pgMs - attributed)} |`);
  log(`  | Postgres total | - | ${fmt(pgMs)} | ${us(pgMs)} |`);
  log(`  | sidecar | - | ${fmt(report.cpuMs)} | ${us(report.cpuMs)} |`);
  const emuMs = (emu.user + emu.system) / 1000;
  log(`  | emulator | - | ${fmt(emuMs)} | ${us(emuMs)} |`);
}

async function main(): Promise<void> {
  reportLoad("bench/full-sync.ts");
  const rows = Number(
    process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : 1_000_000,
  );
  const windowSize = arg("--window") ?? 1000;
  const indexedRows = Math.min(rows, arg("--indexed-rows") ?? 100_000);
  const external = process.env.BENCH_DATABASE_URL;
  const embedded = external
    ? undefined
    : await startEmbeddedPostgres({
        settings: { fsync: "off", synchronous_commit: "off", shared_buffers: "256MB" },
      });
  const adminUrl = external ?? embedded!.adminUrl;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    const controlUrl = await createDb(adminUrl, "bench_control");
    const sourceUrl = await createDb(adminUrl, "bench_source");
    const control = new pg.Pool({ connectionString: controlUrl, max: 4 });
    const source = new pg.Pool({ connectionString: sourceUrl, max: 4 });
    // idle connections die with the embedded server at the end
    for (const p of [control, source]) p.on("error", () => {});
    await migrate({ pool: control, dir: SQL_DIR, log: createLogger({ level: "silent" }) });
    log(`filling ${fmt(rows)} rows ...`);
    const pmPid = await postmasterPid(source);
    const avgBytes = await fillTable(source, "items", rows);
    await copyBaseline(source, "items"); // warm the cache
    const pgCopy0 = postgresCpuMs(pmPid);
    const copyMs = await copyBaseline(source, "items");
    log(`baseline Postgres CPU ${fmt(postgresCpuMs(pmPid) - pgCopy0)} ms`);
    const copyRate = (rows / copyMs) * 1000;
    log(`baseline COPY row_to_json: ${fmt(copyRate)} rows/s`);

    const nullSink = await startEmulator({ apiKey: API_KEY, nullSink: true });
    const indexing = await startEmulator({ apiKey: API_KEY });
    const results: { name: string; rows: number; rate: number; report: ChildReport }[] = [];
    const alt: typeof results = [];
    const scenario = async (
      name: string,
      url: string,
      saga: boolean,
      table: string,
      n: number,
      existingJob?: string,
      inFlight = arg("--in-flight"),
      sqlDocuments = !process.argv.includes("--js"),
      readAhead = arg("--read-ahead"),
    ) => {
      // existingJob: run that job again (its collection holds the first run's docs)
      const jobId =
        existingJob ??
        (await insertJob(control, table, `${table}_${name.replace(/\W+/g, "_")}`, url));
      log(`running: ${name} ...`);
      const emu0 = process.cpuUsage();
      const pg0 = postgresCpuMs(pmPid);
      const report = await runChild({
        controlUrl,
        sourceUrl,
        typesenseUrl: url,
        jobId,
        saga,
        windowSize,
        sqlDocuments,
        // the re-sync scenarios run with fullsync.content_hashes on
        contentHashes: name.includes("content hashes"),
        postmasterPid: pmPid,
        ...(readAhead ? { readAheadWindows: readAhead } : {}),
        ...(inFlight ? { maxWindowsInFlight: inFlight } : {}),
      });
      if (report.result.status !== "succeeded") throw new Error(`${name}: ${report.result.error}`);
      const rate = (n / report.elapsedMs) * 1000;
      (name.includes(" #") ? alt : results).push({ name, rows: n, rate, report });
      const emu = process.cpuUsage(emu0);
      const pgMs = postgresCpuMs(pmPid) - pg0;
      const c = report.result.counters;
      log(`  imported ${fmt(c.imported)}, unchanged ${fmt(c.unchanged)}, failed ${fmt(c.failed)}`);
      log(
        `  ${fmt(rate)} rows/s, peak RSS ${report.peakRssMb.toFixed(0)} MB, wall ${fmt(report.elapsedMs)} ms, sidecar CPU ${fmt(report.cpuMs)} ms (system ${fmt(report.sysMs)}), emulator CPU ${fmt((emu.user + emu.system) / 1000)} ms (system ${fmt(emu.system / 1000)}), Postgres CPU ${fmt(pgMs)} ms (${((pgMs * 1000) / n).toFixed(1)} us/row)`,
      );
      const f = report.firstWindow;
      log(
        `  until the first checkpoint (manifest + 1 window): wall ${fmt(f.wallMs)} ms, sidecar CPU ${fmt(f.cpuMs)} ms, Postgres CPU ${fmt(f.pgCpuMs)} ms`,
      );
      logPhases(report, n, pgMs, emu, log);
      return jobId;
    };
    const alternate = arg("--alternate") ?? 0;
    // --alternate-read-ahead: A/B of 1 vs 2 windows read ahead instead of JS vs SQL documents
    const byReadAhead = process.argv.includes("--alternate-read-ahead");
    for (let k = 0; k < alternate; k++) {
      for (const b of [false, true]) {
        const what = byReadAhead
          ? `read-ahead ${b ? 2 : 1}`
          : `${b ? "SQL-rendered" : "JS"} documents`;
        await scenario(
          `null sink, saga off, ${what} #${k + 1}`,
          nullSink.url,
          false,
          "items",
          rows,
          undefined,
          undefined,
          byReadAhead ? !process.argv.includes("--js") : b,
          byReadAhead ? (b ? 2 : 1) : arg("--read-ahead"),
        );
      }
    }
    await scenario("null sink, saga off", nullSink.url, false, "items", rows);
    await scenario("null sink, saga on", nullSink.url, true, "items", rows);
    const quick = process.argv.includes("--quick");
    // Re-sync of an unchanged table through the engine into the indexing
    // emulator (content hashes: docs/full-sync.md), against COPY row_to_json
    // of the same table measured right before it in the same run.
    const resyncRows = Math.min(rows, arg("--resync-rows") ?? 300_000);
    await source.query(
      `create table items_resync as select * from items where id <= ${resyncRows};
       alter table items_resync add primary key (id); analyze items_resync`,
    );
    const resyncJob = await scenario(
      "re-sync, content hashes: first sync (indexing emulator, saga on)",
      indexing.url,
      true,
      "items_resync",
      resyncRows,
    );
    await copyBaseline(source, "items_resync"); // warm
    const resyncCopyRate = (resyncRows / (await copyBaseline(source, "items_resync"))) * 1000;
    await scenario(
      "re-sync, content hashes: all unchanged (indexing emulator, saga on)",
      indexing.url,
      true,
      "items_resync",
      resyncRows,
      resyncJob,
    );
    const resync = results[results.length - 1]!;
    const rc = resync.report.result.counters;
    const resyncLine = `Re-sync, all unchanged, ${fmt(resyncRows)} rows: ${fmt(resync.rate)} rows/s = ${(resync.rate / resyncCopyRate).toFixed(2)}x of COPY row_to_json of the same table (${fmt(resyncCopyRate)} rows/s, same run); documents written ${fmt(rc.imported + rc.deleted)}; Typesense requests ${resync.report.requests} (${((resync.report.requests * 10_000) / resyncRows).toFixed(2)} per 10k rows).`;
    log(resyncLine);
    let ceiling = Number.NaN;
    if (!quick) {
      await source.query(
        `create table items_indexed as select * from items where id <= $1;
       alter table items_indexed add primary key (id); analyze items_indexed`.replace(
          "$1",
          String(indexedRows),
        ),
      );
      ceiling = await importCeiling(indexing.url, source, "items", indexedRows);
      log(`indexing emulator ceiling: ${fmt(ceiling)} docs/s`);
      const indexedJob = await scenario(
        "indexing emulator, saga off",
        indexing.url,
        false,
        "items_indexed",
        indexedRows,
      );
      await scenario(
        "indexing emulator, saga on, first sync",
        indexing.url,
        true,
        "items_indexed",
        indexedRows,
      );
      // the first job again: every document exists and is unchanged
      await scenario(
        "indexing emulator, saga on (2nd run: all unchanged)",
        indexing.url,
        true,
        "items_indexed",
        indexedRows,
        indexedJob,
      );
    }

    const off = results[0]!;
    const on = results[1]!;
    const lines = [
      `Full sync benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.version}`,
      `${fmt(rows)} rows, avg row_to_json ${avgBytes} bytes, window ${windowSize}, documents ${process.argv.includes("--js") ? "built in JS" : "rendered by Postgres where possible"}`,
      "",
      "| Measure | Rows | Rate (rows/s) | vs COPY | Peak RSS (MB) |",
      "|---|---|---|---|---|",
      `| baseline COPY (SELECT row_to_json(t) ...) TO STDOUT | ${fmt(rows)} | ${fmt(copyRate)} | 1.00x | - |`,
      ...results.map(
        (r) =>
          `| full sync, ${r.name} | ${fmt(r.rows)} | ${fmt(r.rate)} | ${(r.rate / copyRate).toFixed(2)}x | ${r.report.peakRssMb.toFixed(0)} |`,
      ),
      ...(quick
        ? []
        : [
            `| indexing emulator import ceiling (pre-built docs) | ${fmt(indexedRows)} | ${fmt(ceiling)} | - | - |`,
          ]),
      "",
      `Saga backup cost (null sink): ${((on.report.elapsedMs / off.report.elapsedMs - 1) * 100).toFixed(0)}% more time (${fmt(off.rate)} -> ${fmt(on.rate)} rows/s).`,
      resyncLine,
    ];
    if (alt.length > 0) {
      lines.push(
        "",
        ...alt.map(
          (r) =>
            `${r.name}: ${fmt(r.rate)} rows/s (${(r.rate / copyRate).toFixed(2)}x), peak RSS ${r.report.peakRssMb.toFixed(0)} MB, sidecar CPU ${fmt(r.report.cpuMs)} ms`,
        ),
      );
    }
    process.stdout.write(`${lines.join("\n")}\n`);
    await nullSink.close();
    await indexing.close();
    await control.end();
    await source.end();
  } finally {
    await embedded?.stop();
  }
}

if (process.argv[2] === "--child") {
  await child(JSON.parse(process.argv[3] ?? "{}") as ChildConfig);
} else {
  await main();
}
