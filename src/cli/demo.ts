import { randomBytes } from "node:crypto";
import pg from "pg";
import { loadConfig } from "../config/index.js";
import { startEmbeddedPostgres } from "../demo/embedded-postgres.js";
import {
  prng,
  SAMPLE_CHILD_TABLE,
  SAMPLE_DOCUMENT_SPEC,
  SAMPLE_LOOKUP_TABLE,
  SAMPLE_TABLE,
  seedSampleData,
  writeSampleChange,
} from "../demo/sample-data.js";
import { startEmulator } from "../emulator/index.js";
import { createLogger, type Logger, sleepUnlessAborted } from "../lifecycle/index.js";
import { runServe } from "./serve.js";

export interface DemoOptions {
  sqlDir: string;
  demoConfigFile: string;
  /** The process environment (LOG_LEVEL etc.); DEMO_* values are generated here. */
  env: Record<string, string | undefined>;
  port: number | undefined;
  /** Write a small change every few seconds so freshness is visible. */
  writes: boolean;
  rows: number | undefined;
  isTTY: boolean;
  exit: (code: number) => void;
  /** Stop signal for tests; Ctrl-C is always handled. */
  signal?: AbortSignal;
  /** Where the banner and change lines go (default stdout). */
  out?: (text: string) => void;
}

const DEMO_CLIENT = "demo";
const WRITE_EVERY_MS = 3000;

/**
 * `demo`: everything a newcomer needs, started in this process.
 *
 *   embedded Postgres (wal_level=logical) --- control DB + sample source DB
 *   embedded Typesense-compatible server
 *   serve (HTTP API, scheduler, CDC) on config/demo.yaml
 *   bootstrap through the public HTTP API: backend -> CDC-enabled job with a
 *     document spec (products + brands lookup + variants child) -> first run
 *   a writer that changes a product every few seconds (--no-writes: off)
 *
 * Stop (Ctrl-C): serve drains, then the writer, the emulator and Postgres stop,
 * in that order, so nothing is left running.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t));
  const log = createLogger({ level: opts.env.LOG_LEVEL ?? "warn", pretty: opts.isTTY });
  out("starting embedded Postgres (wal_level=logical)...\n");
  const server = await startEmbeddedPostgres();
  const stop = new AbortController();
  let exiting = false;
  const cleanExit = (code: number) => {
    // second Ctrl-C: skip the drain but still stop Postgres
    if (exiting) return;
    exiting = true;
    void server.stop().finally(() => opts.exit(code));
  };
  let emulator: Awaited<ReturnType<typeof startEmulator>> | undefined;
  let source: pg.Pool | undefined;
  let writer: Promise<void> | undefined;
  try {
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    await admin.query("create database athena_control");
    await admin.query("create database demo_app");
    await admin.end();
    source = new pg.Pool({ connectionString: server.urlFor("demo_app"), max: 2 });
    const rows = await seedSampleData(source, opts.rows ?? 5000);
    out(
      `sample table demo_app.public.${SAMPLE_TABLE}: ${rows} rows, with public.${SAMPLE_LOOKUP_TABLE} (lookup) and public.${SAMPLE_CHILD_TABLE} (child)\n`,
    );

    // DEMO_TYPESENSE_API_KEY lets a test know the key it then looks for in the logs
    const tsKey = opts.env.DEMO_TYPESENSE_API_KEY || randomBytes(16).toString("hex");
    emulator = await startEmulator({ apiKey: tsKey });
    out(`embedded Typesense-compatible server: ${emulator.url}\n`);

    const adminKey = randomBytes(24).toString("hex");
    const config = loadConfig({
      file: opts.demoConfigFile,
      env: {
        ...opts.env,
        DEMO_CONTROL_DATABASE_URL: server.urlFor("athena_control"),
        DEMO_SOURCE_DATABASE_URL: server.urlFor("demo_app"),
        DEMO_ADMIN_KEY: adminKey,
        DEMO_PRETTY_LOGS: opts.isTTY ? "true" : "false",
        // keep the terminal readable: the banner and the writer's lines matter here
        LOG_LEVEL: opts.env.LOG_LEVEL ?? "warn",
        ...(opts.port !== undefined ? { DEMO_PORT: String(opts.port) } : {}),
      },
    });
    const signal = opts.signal ? AbortSignal.any([stop.signal, opts.signal]) : stop.signal;
    const ts = { url: emulator.url, key: tsKey };
    const code = await runServe({
      config,
      sqlDir: opts.sqlDir,
      migrate: true,
      exit: cleanExit,
      signal,
      onListening: (url) => {
        bootstrap({ url, adminKey, ts, out, log, sourceUrl: server.urlFor("demo_app") })
          .then(() => {
            if (opts.writes && source) writer = writeLoop(source, signal, out, log);
          })
          .catch((e: unknown) => {
            log.error({ component: "demo", err: e }, "demo bootstrap failed");
            out(`demo bootstrap failed: ${e instanceof Error ? e.message : String(e)}\n`);
            stop.abort();
          });
      },
    });
    return code;
  } finally {
    stop.abort();
    await writer;
    await source?.end();
    await emulator?.close();
    if (!exiting) await server.stop();
  }
}

async function api(
  base: string,
  adminKey: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "x-athena-key": adminKey, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as { status: string; message: string; data?: unknown };
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${json.message}`);
  return (json.data ?? {}) as Record<string, unknown>;
}

/** Creates the backend and the CDC-enabled job through the public API, runs the first sync. */
async function bootstrap(o: {
  url: string;
  adminKey: string;
  ts: { url: string; key: string };
  out: (t: string) => void;
  log: Logger;
  sourceUrl: string;
}): Promise<void> {
  const backend = await api(o.url, o.adminKey, "POST", "/typesense/backends", {
    name: "embedded",
    base_url: o.ts.url,
    api_key: o.ts.key,
    timeout_ms: 5000,
  });
  const job = await api(o.url, o.adminKey, "POST", "/typesense/sync-jobs", {
    profile_id: backend.id,
    source_client_name: DEMO_CLIENT,
    source_table_name: SAMPLE_TABLE,
    collection_name: "products",
    document_id_column: "id",
    queryable_fields: ["name", "description", "category"],
    sync_interval_seconds: 300,
    stale_after_seconds: 900,
    cdc_enabled: true,
    // brand name and country from the lookup, variant colours and sizes from the child
    document: SAMPLE_DOCUMENT_SPEC,
  });
  const jobId = String(job.id);
  // A new job is due at once, so the scheduler may claim it before this request
  // does (409): then follow the run it started.
  let runId: string;
  try {
    const run = await api(o.url, o.adminKey, "POST", `/typesense/sync-jobs/${jobId}/run`);
    runId = String(run.run_id);
  } catch (e) {
    if (!(e instanceof Error && e.message.includes("-> 409"))) throw e;
    let latest: unknown;
    for (let i = 0; i < 100 && !latest; i++) {
      const st = await api(o.url, o.adminKey, "GET", `/typesense/sync-jobs/${jobId}/status`);
      latest = st.latest_run_id;
      if (!latest) await new Promise((res) => setTimeout(res, 100));
    }
    runId = String(latest);
  }
  o.out(`first sync started (run ${runId})...\n`);
  for (;;) {
    const r = await api(o.url, o.adminKey, "GET", `/typesense/sync-runs/${runId}`);
    if (r.status === "succeeded" || r.status === "failed") {
      o.out(
        `first sync ${String(r.status)}: ${String(r.imported_count)} imported, ${String(r.failed_count)} failed\n`,
      );
      break;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  // The banner invites edits: make sure the CDC stream is live before showing it.
  for (let i = 0; i < 240; i++) {
    const streams = await api(o.url, o.adminKey, "GET", "/typesense/cdc-streams").catch(() => ({}));
    const list = Array.isArray(streams) ? streams : [];
    if (list.some((s) => (s as { status?: string }).status === "streaming")) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const curl = `curl -s -X POST ${o.url}/typesense/search -H 'X-Athena-Key: ${o.adminKey}' -H 'Content-Type: application/json' -d '{"source_client_name":"${DEMO_CLIENT}","source_table_name":"${SAMPLE_TABLE}","q":"oak","per_page":3}'`;
  o.out(
    [
      "",
      "athena-typesense-sync demo is running",
      `  console:    ${o.url}/console`,
      `  API docs:   ${o.url}/docs`,
      `  admin key:  ${o.adminKey}   (this demo only)`,
      `  job id:     ${jobId}`,
      `  source DB:  psql '${o.sourceUrl}'   (edit public.${SAMPLE_TABLE}; CDC carries it to search)`,
      `  search:     ${curl}`,
      "  Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
}

/** Every few seconds one product changes; CDC carries it to search. */
async function writeLoop(
  pool: pg.Pool,
  signal: AbortSignal,
  out: (t: string) => void,
  log: Logger,
): Promise<void> {
  const rand = prng(Date.now() & 0xffff);
  while (await sleepUnlessAborted(WRITE_EVERY_MS, signal)) {
    try {
      out(`[writer] ${await writeSampleChange(pool, rand)}\n`);
    } catch (e) {
      log.warn({ component: "demo", err: e }, "demo write failed");
    }
  }
}
