import type pg from "pg";
import { RUN_REQUESTED_CHANNEL, RunConflictError } from "../coordination/index.js";
import { selectDueJobs, selectRequestedJobs } from "../db/repositories/scheduler-jobs.js";
import type { FullSyncEngine, RunResult } from "../fullsync/index.js";
import type { Logger, Service } from "../lifecycle/index.js";
import { backoffDelay, sleepUnlessAborted } from "../lifecycle/index.js";

export interface SchedulerOptions {
  /** Control DB pool (also lends the LISTEN connection). */
  control: pg.Pool;
  /** Runs one job (the full-sync engine). */
  engine: Pick<FullSyncEngine, "runJob">;
  log: Logger;
  /**
   * typesense.sync_worker_enabled: when false, nothing is scheduled and no
   * NOTIFY is followed; only runs requested on THIS instance (runRequested)
   * are started, under the same maxConcurrentRuns and canRun rules.
   */
  enabled: boolean;
  /** typesense.sync_worker_poll_ms: how often due jobs are looked for. */
  pollMs: number;
  /** fullsync.max_concurrent_runs: runs in flight in this instance. */
  maxConcurrentRuns: number;
  /** LISTEN on RUN_REQUESTED_CHANNEL to start requested runs at once (default true). */
  listen?: boolean;
  /**
   * Whether this instance may run the job now (checked at every pick, and
   * every poll for the runs in flight: a run whose job may no longer run here
   * is stopped after its current window's checkpoint and releases its lease,
   * so the instance that may run it resumes it).
   * serve: with CDC enabled, a job of a source client that has CDC jobs runs
   * only on the instance leading that client's stream (DESIGN section 5), so
   * its windows can be bracketed by watermarks; a leader that lost its lock
   * must not go on writing that client's windows directly. Default: every job.
   */
  canRun?: (job: DueJob) => boolean;
  /** Test hook: every settled run (result) or run error. */
  onRunSettled?: (jobId: string, outcome: RunResult | Error) => void;
  /** Injectable clock (ms) for the per-job cooldown after an error. */
  now?: () => number;
}

/**
 * The poll loop:
 *
 *   idle --(poll tick | NOTIFY | a run ended)--> pick due jobs --> start runs --> idle
 *     \--(signal)--> drain: each run finishes its window + checkpoint, releases its lease
 *
 * A job is due when it is enabled, its lease is free (never held, released or
 * expired) and either next_sync_at has come (or is null) or it has an open run
 * (queued by the HTTP route, or left running by an instance that died or was
 * stopped: its expired lease makes it resumable here). The engine's lease claim
 * is the real guard: two schedulers that pick the same job race on one UPDATE
 * and the loser gets RunConflictError, which is skipped silently.
 */
/** A job the scheduler found due. */
export interface DueJob {
  id: string;
  sourceClientName: string;
  /** The source client has an enabled, cdc_enabled job (so a CDC stream exists for it). */
  clientHasCdc: boolean;
}

/** The scheduler service plus the hand-off of manual runs requested on this instance. */
export interface Scheduler extends Service {
  /**
   * A run of `jobId` was just queued here (the HTTP run route, after
   * requestRun committed). With the worker enabled this only wakes the loop
   * (NOTIFY does too); with it disabled, the job is remembered and started by
   * this instance as soon as a run slot is free and canRun allows it.
   */
  runRequested(jobId: string): void;
}

export function createScheduler(opts: SchedulerOptions): Scheduler {
  const log = opts.log.child({ component: "scheduler" });
  const now = opts.now ?? Date.now;
  const running = new Map<string, { job: DueJob; ctl: AbortController; done: Promise<void> }>();
  // After an error (not a normal failure) a job waits before it is picked again,
  // so a run that throws at once cannot spin the loop.
  const cooldown = new Map<string, { until: number; errors: number }>();
  // worker disabled: jobs whose manual run was requested on this instance, not started yet
  const requested = new Set<string>();
  let wake: () => void = () => {};

  async function dueJobs(limit: number): Promise<DueJob[]> {
    const t = now();
    for (const [id, c] of cooldown) if (c.until <= t) cooldown.delete(id);
    const exclude = [...running.keys(), ...cooldown.keys()];
    // jobs another instance must run are filtered below: look further than `limit`
    const rows = await selectDueJobs(
      opts.control,
      exclude,
      opts.canRun ? Math.max(limit * 10, 100) : limit,
    );
    const jobs = rows.map((x) => ({ id: x.id, sourceClientName: x.c, clientHasCdc: x.cdc }));
    return jobs.filter((j) => !opts.canRun || opts.canRun(j)).slice(0, limit);
  }

  /**
   * Worker disabled: the requested jobs that can start now (enabled, lease
   * free, an open run to execute, canRun). A request whose run is gone (it
   * finished elsewhere, the job was disabled or deleted) is forgotten; one
   * that cannot start yet (no free slot, leased, not this instance's to run
   * while CDC leadership is elsewhere) stays and is looked at every poll.
   */
  async function requestedJobs(limit: number): Promise<DueJob[]> {
    const ids = [...requested].filter((id) => !running.has(id));
    if (ids.length === 0) return [];
    const rows = await selectRequestedJobs(opts.control, ids);
    const wanted = new Set(rows.map((x) => x.id));
    for (const id of ids) if (!wanted.has(id)) requested.delete(id);
    return rows
      .filter((x) => x.free)
      .map((x) => ({ id: x.id, sourceClientName: x.c, clientHasCdc: x.cdc }))
      .filter((j) => !opts.canRun || opts.canRun(j))
      .slice(0, limit);
  }

  function start(job: DueJob, signal: AbortSignal): void {
    const jobId = job.id;
    requested.delete(jobId);
    // aborted by the scheduler's signal, or when canRun turns false for the job
    const ctl = new AbortController();
    const run = AbortSignal.any([signal, ctl.signal]);
    const p = opts.engine
      .runJob(jobId, { trigger: "schedule", signal: run })
      .then(
        (res) => {
          if (res.status === "interrupted" && !signal.aborted && !ctl.signal.aborted) {
            backOff(jobId);
          } else cooldown.delete(jobId);
          opts.onRunSettled?.(jobId, res);
        },
        (e: unknown) => {
          const err = e instanceof Error ? e : new Error(String(e));
          if (!(e instanceof RunConflictError)) {
            log.error({ jobId, err }, "sync run crashed; job cools down before the next try");
            backOff(jobId);
          }
          opts.onRunSettled?.(jobId, err);
        },
      )
      .finally(() => {
        running.delete(jobId);
        wake();
      });
    running.set(jobId, { job, ctl, done: p });
  }

  /** Stops the runs in flight whose job may no longer run here (canRun turned false). */
  function stopDisallowed(): void {
    if (!opts.canRun) return;
    for (const r of running.values()) {
      if (r.ctl.signal.aborted || opts.canRun(r.job)) continue;
      log.warn(
        { jobId: r.job.id, client: r.job.sourceClientName },
        "this instance may no longer run the job (CDC leadership lost); stopping the run after its current window",
      );
      r.ctl.abort();
    }
  }

  function backOff(jobId: string): void {
    const errors = (cooldown.get(jobId)?.errors ?? 0) + 1;
    const delay = backoffDelay(errors, { baseMs: opts.pollMs, maxMs: 15 * 60_000 });
    cooldown.set(jobId, { until: now() + delay, errors });
  }

  return {
    name: "scheduler",
    runRequested(jobId) {
      if (!opts.enabled) requested.add(jobId);
      wake();
    },
    async run(signal) {
      if (!opts.enabled) {
        log.info(
          "sync worker disabled (typesense.sync_worker_enabled=false): only manual runs requested on this instance run",
        );
      }
      const pick = opts.enabled ? dueJobs : requestedJobs;
      const listener =
        !opts.enabled || opts.listen === false
          ? null
          : listenForRequests(opts.control, log, signal, () => wake());
      // consecutive failed look-ups: the next one comes after a short backoff
      // (500 ms doubling, at most one poll), not a whole poll later: with a
      // 30-60 s poll one failed query at startup delayed every due job (and
      // an interrupted run's resume) by a full poll
      let pickErrors = 0;
      try {
        while (!signal.aborted) {
          const woken = new Promise<void>((r) => {
            wake = r;
          });
          stopDisallowed();
          const free = opts.maxConcurrentRuns - running.size;
          if (free > 0) {
            try {
              for (const job of await pick(free)) start(job, signal);
              pickErrors = 0;
            } catch (err) {
              pickErrors++;
              log.warn({ err, attempt: pickErrors }, "could not look for due jobs; retrying soon");
            }
          }
          const pause =
            pickErrors > 0
              ? backoffDelay(pickErrors, { baseMs: 500, maxMs: opts.pollMs })
              : opts.pollMs;
          const ac = new AbortController();
          const onAbort = () => ac.abort();
          signal.addEventListener("abort", onAbort, { once: true });
          await Promise.race([sleepUnlessAborted(pause, ac.signal), woken]);
          signal.removeEventListener("abort", onAbort);
          ac.abort();
        }
      } finally {
        // Drain: every run stops after its current window's checkpoint.
        await Promise.allSettled([...running.values()].map((r) => r.done));
        await listener?.close();
      }
    },
  };
}

/**
 * LISTEN on a dedicated connection; a NOTIFY from requestRun wakes the loop.
 * On a connection error it reconnects with backoff; polling covers the gap.
 */
function listenForRequests(
  pool: pg.Pool,
  log: Logger,
  signal: AbortSignal,
  onRequest: () => void,
): { close(): Promise<void> } {
  const loop = (async () => {
    for (let failures = 0; !signal.aborted; ) {
      try {
        const c = await pool.connect();
        const broken = new Promise<Error>((resolve) => c.once("error", resolve));
        c.on("notification", () => onRequest());
        await c.query(`listen ${RUN_REQUESTED_CHANNEL}`);
        failures = 0;
        // checked too: an abort during connect/LISTEN fired before this listener
        const aborted = new Promise<null>((r) => {
          if (signal.aborted) r(null);
          else signal.addEventListener("abort", () => r(null), { once: true });
        });
        const err = await Promise.race([broken, aborted]);
        if (err) {
          c.release(err);
          throw err;
        }
        await c.query(`unlisten ${RUN_REQUESTED_CHANNEL}`).catch(() => {});
        c.release();
      } catch (err) {
        failures++;
        log.warn({ err }, "LISTEN connection failed; polling until it is back");
        const delay = backoffDelay(failures, { baseMs: 500, maxMs: 30_000 });
        await sleepUnlessAborted(delay, signal);
      }
    }
  })();
  return {
    async close() {
      await loop;
    },
  };
}
