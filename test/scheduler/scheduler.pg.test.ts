import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { requestRun } from "../../src/coordination/index.js";
import type { FullSyncEngineOptions, RunResult } from "../../src/fullsync/index.js";
import { createScheduler, type SchedulerOptions } from "../../src/scheduler/index.js";
import { insertJob } from "../fullsync/helpers.js";
import {
  createProducts,
  expectCollectionEqualsTable,
  runRows,
  useEngineFixture,
} from "../fullsync/support.js";
import { silentLogger } from "../support/log.js";

const fx = useEngineFixture({ owner: "scheduler", windowSize: 50 });
const { db, source, ts } = fx;
const engine = (owner: string, over: Partial<FullSyncEngineOptions> = {}) =>
  fx.engine({ owner, ...over });

function scheduler(over: Partial<SchedulerOptions> & Pick<SchedulerOptions, "engine">) {
  return createScheduler({
    control: db.pool,
    log: silentLogger(),
    enabled: true,
    pollMs: 50,
    maxConcurrentRuns: 2,
    ...over,
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Finished runs of a job never overlap in time. */
function expectNoOverlap(runs: Record<string, unknown>[]) {
  const spans = runs
    .map((r) => [(r.started_at as Date).getTime(), (r.finished_at as Date).getTime()] as const)
    .sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
}

describe("scheduler", () => {
  it("two schedulers on one control DB run one job one run at a time", async () => {
    await createProducts(source.pool, "sch_two", 400);
    const collection = ts.uniqueName("sch_two");
    const jobId = await insertJob(db.pool, { collection, table: "sch_two" });
    // due again one second after each run, so the schedulers compete repeatedly
    await db.pool.query("update typesense_sync_jobs set sync_interval_seconds = 1 where id = $1", [
      jobId,
    ]);
    const windowsByRun = new Map<string, Set<string>>();
    const hook = (owner: string) => (w: { runId: string }) => {
      const owners = windowsByRun.get(w.runId) ?? new Set();
      owners.add(owner);
      windowsByRun.set(w.runId, owners);
    };
    const settled: (RunResult | Error)[] = [];
    const ctl = new AbortController();
    const services = ["a", "b"].map((owner) =>
      scheduler({
        engine: engine(owner, { onWindowCommitted: hook(owner) }),
        onRunSettled: (_id, o) => void settled.push(o),
      }).run(ctl.signal),
    );
    await until("4 finished runs", async () => {
      const r = await db.pool.query(
        "select count(*)::int n from typesense_sync_runs where job_id = $1 and status = 'succeeded'",
        [jobId],
      );
      return r.rows[0].n >= 4;
    });
    ctl.abort();
    await Promise.all(services);

    const runs = (await runRows(db.pool, jobId)).filter((r) => r.finished_at);
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expectNoOverlap(runs);
    for (const r of runs) {
      expect(r.status).toBe("succeeded");
      // every window of a run came from the one instance that owned it
      expect([...(windowsByRun.get(r.id as string) ?? [])]).toEqual([r.owner]);
    }
    // no run of the job was ever left half-done or duplicated
    const open = await db.pool.query(
      "select count(*)::int n from typesense_sync_runs where job_id = $1 and status in ('queued', 'running') and started_at is not null and finished_at is null and next_manifest_seq > 0",
      [jobId],
    );
    expect(open.rows[0].n).toBe(0);
    expect(settled.filter((s) => s instanceof Error && s.name !== "RunConflictError")).toEqual([]);
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "sch_two");
  });

  it("starts a requested run at once on NOTIFY (polling alone would take a minute)", async () => {
    await createProducts(source.pool, "sch_notify", 60);
    const collection = ts.uniqueName("sch_notify");
    const jobId = await insertJob(db.pool, {
      collection,
      table: "sch_notify",
      nextSyncAt: new Date(Date.now() + 3600_000),
    });
    const done: RunResult[] = [];
    const ctl = new AbortController();
    const svc = scheduler({
      engine: engine("n"),
      pollMs: 60_000,
      onRunSettled: (id, o) => {
        if (id === jobId && !(o instanceof Error)) done.push(o);
      },
    });
    const running = svc.run(ctl.signal);
    await sleep(300); // LISTEN is up, the first (empty) poll is over
    const requested = await requestRun(db.pool, { jobId, trigger: "manual", scope: null });
    const res = await until("the requested run", async () => done[0]);
    ctl.abort();
    await running;
    expect(res).toMatchObject({ runId: requested.runId, status: "succeeded" });
    const [run] = await runRows(db.pool, jobId);
    expect(run).toMatchObject({ id: requested.runId, trigger: "manual", status: "succeeded" });
  });

  it("picks up a dead instance's run once its lease expired, and resumes it", async () => {
    await createProducts(source.pool, "sch_dead", 120);
    const collection = ts.uniqueName("sch_dead");
    const jobId = await insertJob(db.pool, {
      collection,
      table: "sch_dead",
      nextSyncAt: new Date(Date.now() + 3600_000),
    });
    // what a crashed instance leaves behind: a running run and a lease nobody renews
    const dead = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_runs (job_id, trigger, status, stage, owner, started_at)
       values ($1, 'schedule', 'running', 'manifest', 'dead', now()) returning id`,
      [jobId],
    );
    await db.pool.query(
      `update typesense_sync_jobs set lease_owner = 'dead', lease_token = gen_random_uuid(),
              lease_expires_at = now() + interval '700 milliseconds' where id = $1`,
      [jobId],
    );
    const done: RunResult[] = [];
    const ctl = new AbortController();
    const running = scheduler({
      engine: engine("alive"),
      onRunSettled: (id, o) => {
        if (id === jobId && !(o instanceof Error)) done.push(o);
      },
    }).run(ctl.signal);
    const res = await until("the resumed run", async () => done[0]);
    ctl.abort();
    await running;
    expect(res).toMatchObject({ runId: dead.rows[0]!.id, status: "succeeded", resumed: true });
    const runs = await runRows(db.pool, jobId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ resume_attempt_count: 1, owner: "alive" });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "sch_dead");
  });

  it("bounds concurrency and, on abort, stops after the window's checkpoint and frees the lease", async () => {
    const jobs: string[] = [];
    for (const t of ["sch_b1", "sch_b2", "sch_b3"]) {
      await createProducts(source.pool, t, 100);
      jobs.push(await insertJob(db.pool, { collection: ts.uniqueName(t), table: t }));
    }
    let active = 0;
    let maxActive = 0;
    const ctl = new AbortController();
    const base = engine("bounded");
    const counted = {
      async runJob(jobId: string, o: Parameters<typeof base.runJob>[1]) {
        active++;
        maxActive = Math.max(maxActive, active);
        try {
          return await base.runJob(jobId, o);
        } finally {
          active--;
        }
      },
    };
    const svc = scheduler({ engine: counted, maxConcurrentRuns: 1 });
    const running = svc.run(ctl.signal);
    await until("all three jobs synced", async () => {
      const r = await db.pool.query(
        "select count(*)::int n from typesense_sync_runs where job_id = any($1) and status = 'succeeded'",
        [jobs],
      );
      return r.rows[0].n === 3;
    });
    expect(maxActive).toBe(1);
    ctl.abort();
    await running;

    // abort in the middle of a run
    await createProducts(source.pool, "sch_abort", 300);
    const abortJob = await insertJob(db.pool, {
      collection: ts.uniqueName("sch_abort"),
      table: "sch_abort",
    });
    const ctl2 = new AbortController();
    // only this job is due now
    await db.pool.query("update typesense_sync_jobs set enabled = (id = $1)", [abortJob]);
    const svc2 = scheduler({
      engine: engine("aborting", { onWindowCommitted: () => ctl2.abort() }),
    });
    await svc2.run(ctl2.signal);
    const [run] = await runRows(db.pool, abortJob);
    expect(run).toMatchObject({ status: "running", stage: "windows", next_manifest_seq: "50" });
    const j = await db.pool.query("select lease_token from typesense_sync_jobs where id = $1", [
      abortJob,
    ]);
    expect(j.rows[0].lease_token).toBeNull();
  });

  it("a run whose job may no longer run here (canRun turned false: leadership lost) stops after its window's checkpoint and is resumed where it may run", async () => {
    await createProducts(source.pool, "sch_gate", 300);
    const collection = ts.uniqueName("sch_gate");
    const jobId = await insertJob(db.pool, { collection, table: "sch_gate" });
    await db.pool.query("update typesense_sync_jobs set enabled = (id = $1)", [jobId]);
    let allowed = true;
    let runSignal: AbortSignal | undefined;
    const settled: (RunResult | Error)[] = [];
    const base = engine("gate-a", {
      onWindowCommitted: async () => {
        if (!allowed) return;
        // leadership lost after the first window: the scheduler must stop the run
        allowed = false;
        await until("the scheduler to stop the run", async () => runSignal?.aborted);
      },
    });
    const ctlA = new AbortController();
    const a = scheduler({
      engine: {
        runJob: (id, o) => {
          runSignal = o?.signal;
          return base.runJob(id, o);
        },
      },
      canRun: () => allowed,
      onRunSettled: (_id, o) => settled.push(o),
    });
    const runningA = a.run(ctlA.signal);
    await until("the run stopped", async () => settled.length > 0);
    expect(settled).toMatchObject([{ status: "interrupted" }]);
    const [open] = await runRows(db.pool, jobId);
    expect(open).toMatchObject({ status: "running", next_manifest_seq: "50" });
    const j = await db.pool.query("select lease_token from typesense_sync_jobs where id = $1", [
      jobId,
    ]);
    expect(j.rows[0].lease_token).toBeNull();
    // the instance that may run it resumes the same run
    const ctlB = new AbortController();
    const b = scheduler({ engine: engine("gate-b"), canRun: () => true });
    const runningB = b.run(ctlB.signal);
    await until("the run resumed and finished", async () => {
      const rows = await runRows(db.pool, jobId);
      return rows.length === 1 && rows[0]!.status === "succeeded";
    });
    ctlA.abort();
    ctlB.abort();
    await Promise.all([runningA, runningB]);
    expect(settled).toHaveLength(1);
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "sch_gate");
  });
  it("a failed look-up for due jobs is retried after a short backoff, not a whole poll later", async () => {
    await createProducts(source.pool, "sch_retry", 30);
    const collection = ts.uniqueName("sch_retry");
    const jobId = await insertJob(db.pool, { collection, table: "sch_retry" });
    // the first two look-ups fail (the control DB was briefly unreachable)
    let failures = 2;
    const control = new Proxy(db.pool, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (key !== "query" || typeof v !== "function") return v;
        return (...args: unknown[]) => {
          const text = typeof args[0] === "string" ? args[0] : "";
          if (failures > 0 && text.includes("from typesense_sync_jobs j")) {
            failures--;
            return Promise.reject(new Error("connection terminated unexpectedly"));
          }
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const ctl = new AbortController();
    // a one-minute poll: without the short retry the job would wait for it
    const svc = scheduler({ engine: engine("retry"), control, pollMs: 60_000, listen: false });
    const running = svc.run(ctl.signal);
    try {
      await until("the run succeeded", async () => {
        const r = await runRows(db.pool, jobId);
        return r.some((x) => x.status === "succeeded");
      });
      expect(failures).toBe(0);
      await expectCollectionEqualsTable(fx.backend, collection, source.pool, "sch_retry");
    } finally {
      ctl.abort();
      await running;
    }
  });
});
