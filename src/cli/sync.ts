import type pg from "pg";
import { LEADER_LOCK_CLASS, leaderLockKey } from "../cdc/index.js";
import type { Config } from "../config/index.js";
import { JobNotFoundError, RunConflictError } from "../coordination/index.js";
import { createPools } from "../db/index.js";
import { jobCdcClient, streamLeader } from "../db/repositories/cdc-jobs.js";
import { runManifestTotal } from "../db/repositories/runs.js";
import { createLogger, type Logger, signalOnTermination } from "../lifecycle/index.js";
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

/**
 * Exit codes: 0 succeeded, 1 failed or interrupted, 2 usage, 3 lease held
 * elsewhere, 4 unknown job, 5 another instance leads the job's CDC stream.
 */
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
        known = Number((await runManifestTotal(pools.control, w.runId)) ?? 0);
      }
      if (opts.isTTY) draw();
      else
        opts.out.write(
          `window ${w.fromSeq}..${w.toSeq}: ${w.imported} imported, ${w.unchanged} unchanged, ${w.failed} failed\n`,
        );
    },
  });
  const signal = signalOnTermination(log, opts.exit);
  let leadership: CliLeadership | null = null;
  try {
    leadership = await takeCdcLeadership(config, pools.control, jobId, log);
    if (leadership.refused) {
      opts.out.write(`${leadership.refused}\n`);
      return 5;
    }
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
    await leadership?.release();
    await clients.close();
    await pools.close();
  }
}

interface CliLeadership {
  /** Set when another instance leads the client's CDC stream: the run must not start. */
  refused: string | null;
  release(): Promise<void>;
}

/**
 * `sync run` is a separate process: it has no CDC stream, so it cannot
 * bracket windows with watermarks (src/fullsync/watermarked.ts). With CDC
 * enabled and CDC jobs on the job's source client:
 * - another instance leads that client's stream -> refuse (exit 5) and point
 *   to the HTTP run route, which queues the run for the leader;
 * - nobody leads it -> take the client's leadership lock for the whole run
 *   (no stream can start and write meanwhile; it resumes from its slot after
 *   the run, so nothing is lost) and run without watermarks, with a warning.
 */
async function takeCdcLeadership(
  config: Config,
  control: pg.Pool,
  jobId: string,
  log: Logger,
): Promise<CliLeadership> {
  const none: CliLeadership = { refused: null, release: async () => {} };
  if (!config.cdc.enabled) return none;
  const job = await jobCdcClient(control, jobId).catch(() => undefined); // a malformed id: runJob reports the unknown job
  if (!job?.cdc) return none;
  const key = leaderLockKey(job.c);
  const conn = await control.connect();
  const got = await conn
    .query<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", [LEADER_LOCK_CLASS, key])
    .catch((e: unknown) => {
      conn.release(e instanceof Error ? e : true);
      throw e;
    });
  if (!got.rows[0]?.ok) {
    conn.release();
    const leader = await streamLeader(control, job.c);
    const who = leader ? ` (${leader})` : "";
    return {
      refused:
        `another instance${who} leads the CDC stream of source client "${job.c}"; its full ` +
        `syncs run there, bracketed by watermarks. Queue the run on it instead: ` +
        `POST /typesense/sync-jobs/${jobId}/run`,
      release: async () => {},
    };
  }
  log.warn(
    { component: "sync", client: job.c },
    "no instance streams this source client: running without CDC watermarks, holding its " +
      "leadership lock until the run ends (the stream catches up from its slot afterwards)",
  );
  return {
    refused: null,
    async release() {
      try {
        await conn.query("select pg_advisory_unlock($1, $2)", [LEADER_LOCK_CLASS, key]);
        conn.release();
      } catch (e) {
        // destroying the session ends its lock too
        conn.release(e instanceof Error ? e : true);
      }
    },
  };
}
