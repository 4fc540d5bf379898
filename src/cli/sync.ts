import type { Config } from "../config/index.js";
import { createPools } from "../db/index.js";
import { JobNotFoundError, RunConflictError } from "../fullsync/index.js";
import { createLogger, signalOnTermination } from "../lifecycle/index.js";
import { createBackendResolver, createEngine, instanceName } from "./wiring.js";

export interface SyncCommandOptions {
  config: Config;
  /** Positionals after `sync`: ["run", "<job-id>"]. */
  args: string[];
  /** Draw a progress bar (stderr is a terminal). */
  isTTY: boolean;
  out: NodeJS.WritableStream;
  exit: (code: number) => void;
}

/** Exit codes: 0 succeeded, 1 failed or interrupted, 2 usage, 3 lease held elsewhere, 4 unknown job. */
export async function runSyncCommand(opts: SyncCommandOptions): Promise<number> {
  const [verb, jobId, ...extra] = opts.args;
  if (verb !== "run" || !jobId || extra.length > 0) {
    opts.out.write("usage: athena-typesense-sync sync run <job-id>\n");
    return 2;
  }
  const { config } = opts;
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty });
  const pools = createPools({
    controlUrl: config.control_database_url,
    clients: config.postgres_clients,
    log,
  });
  const { backendFor, clients } = createBackendResolver({ config, pools, log });
  let known = 0;
  let done = 0;
  const draw = (final = false) => {
    if (!opts.isTTY && !final) return;
    const pct = known > 0 ? Math.min(1, done / known) : 0;
    const width = 30;
    const bar = "#".repeat(Math.round(pct * width)).padEnd(width, ".");
    const of = known > 0 ? `${done}/${known}` : `${done}`;
    opts.out.write(`\r[${bar}] ${of} rows${final ? "\n" : ""}`);
  };
  const engine = createEngine({
    config,
    pools,
    log,
    owner: `cli:${instanceName()}`,
    backendFor,
    onWindowCommitted: async (w) => {
      done = w.toSeq;
      if (known === 0) {
        const r = await pools.control.query<{ n: string | null }>(
          "select manifest_total_rows::text as n from typesense_sync_runs where id = $1",
          [w.runId],
        );
        known = Number(r.rows[0]?.n ?? 0);
      }
      if (opts.isTTY) draw();
      else
        opts.out.write(
          `window ${w.fromSeq}..${w.toSeq}: ${w.imported} imported, ${w.unchanged} unchanged, ${w.failed} failed\n`,
        );
    },
  });
  const signal = signalOnTermination(log, opts.exit);
  try {
    const r = await engine.runJob(jobId, { trigger: "cli", signal });
    draw(true);
    opts.out.write(
      `run ${r.runId} ${r.status}${r.resumed ? " (resumed)" : ""}: ${r.counters.imported} imported, ` +
        `${r.counters.unchanged} unchanged, ${r.counters.failed} failed, ${r.counters.deleted} deleted` +
        `${r.error ? `; ${r.error}` : ""}\n`,
    );
    return r.status === "succeeded" ? 0 : 1;
  } catch (e) {
    if (e instanceof RunConflictError) {
      opts.out.write(`${e.message}\n`);
      return 3;
    }
    if (e instanceof JobNotFoundError) {
      opts.out.write(`${e.message}\n`);
      return 4;
    }
    throw e;
  } finally {
    await clients.close();
    await pools.close();
  }
}
