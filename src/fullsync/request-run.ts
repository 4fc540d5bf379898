import type pg from "pg";

/** Who asked for a run (typesense_sync_runs.trigger). */
export type RunTrigger = "schedule" | "manual" | "cli" | "resync";

export class JobNotFoundError extends Error {
  override readonly name = "JobNotFoundError";
  constructor(readonly jobId: string) {
    super(`sync job ${jobId} not found`);
  }
}

/** The job is leased by a running sync (HTTP 409). */
export class RunConflictError extends Error {
  override readonly name = "RunConflictError";
  constructor(
    readonly jobId: string,
    readonly runId: string | null,
    readonly leaseExpiresAt: Date | null,
  ) {
    super(
      `sync job ${jobId} is already running${runId ? ` (run ${runId})` : ""}; try again after it finishes`,
    );
  }
}

export interface RequestedRun {
  runId: string;
  /** "queued" for a new run; "resumable" when an unfinished run will be resumed instead. */
  disposition: "queued" | "resumable";
}

/** Channel on which a run request is announced so a worker picks it up at once. */
export const RUN_REQUESTED_CHANNEL = "athena_ts_run_requested";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Records that a job should run now; the full-sync engine picks the run up
 * (poll + NOTIFY). This never runs anything itself.
 *
 * - job leased by a live run            -> RunConflictError (409)
 * - an unfinished run exists, lease free -> that run is returned: the engine
 *   resumes it at its checkpoint instead of starting a second run (seed 000)
 * - otherwise                            -> a new `queued` run row
 *
 * The partial unique index typesense_sync_runs_one_open_idx makes "one open
 * run per job" hold even when two requests race: the loser gets 409.
 */
export async function requestRun(
  pool: pg.Pool,
  opts: { jobId: string; trigger: RunTrigger },
): Promise<RequestedRun> {
  if (!UUID_RE.test(opts.jobId)) throw new JobNotFoundError(opts.jobId);
  const client = await pool.connect();
  try {
    await client.query("begin");
    const job = await client.query<{
      id: string;
      lease_live: boolean;
      lease_expires_at: Date | null;
    }>(
      `select id, coalesce(lease_expires_at > now(), false) as lease_live, lease_expires_at
         from typesense_sync_jobs where id = $1 for update`,
      [opts.jobId],
    );
    const row = job.rows[0];
    if (!row) throw new JobNotFoundError(opts.jobId);
    const open = await client.query<{ id: string; status: string }>(
      `select id, status from typesense_sync_runs
        where job_id = $1 and status in ('queued', 'running')`,
      [opts.jobId],
    );
    const openRun = open.rows[0];
    if (row.lease_live) {
      throw new RunConflictError(opts.jobId, openRun?.id ?? null, row.lease_expires_at);
    }
    let result: RequestedRun;
    if (openRun) {
      result = { runId: openRun.id, disposition: "resumable" };
    } else {
      const ins = await client.query<{ id: string }>(
        `insert into typesense_sync_runs (job_id, trigger, status, stage)
         values ($1, $2, 'queued', 'queued') returning id`,
        [opts.jobId, opts.trigger],
      );
      result = { runId: ins.rows[0]!.id, disposition: "queued" };
    }
    await client.query("select pg_notify($1, $2)", [RUN_REQUESTED_CHANNEL, opts.jobId]);
    await client.query("commit");
    return result;
  } catch (e) {
    await client.query("rollback").catch(() => {});
    // a concurrent request created the open run first
    if ((e as { code?: string }).code === "23505") {
      throw new RunConflictError(opts.jobId, null, null);
    }
    throw e;
  } finally {
    client.release();
  }
}
