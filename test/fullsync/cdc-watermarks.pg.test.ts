import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCdcSupervisor } from "../../src/cdc/supervisor.js";
import { fullSyncGate } from "../../src/cli/wiring.js";
import {
  createWatermarkRegistry,
  type WatermarkRegistry,
} from "../../src/coordination/watermarks.js";
import type { SyncBackend } from "../../src/fullsync/context.js";
import type { RunResult } from "../../src/fullsync/engine.js";
import { createFullSyncEngine, type FullSyncEngineOptions } from "../../src/fullsync/index.js";
import type { WindowSummary } from "../../src/fullsync/window.js";
import { createScheduler } from "../../src/scheduler/index.js";
import type { Document, TypesenseBackend } from "../../src/typesense/index.js";
import {
  backendFor,
  cdcConfig,
  docsOf,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  waitFor,
} from "../cdc/helpers.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { tableDocuments } from "./support.js";

// Control and source are the same database here (logical replication on it).
const db = useTestDatabase();
const ts = useTypesense();
const SLOT_PREFIX = "t_fsw";
let backend: TypesenseBackend;
let profile: string;

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
  profile = await insertProfile(db.pool, ts.url, ts.apiKey);
});
afterAll(async () => {
  await backend.close();
});

function engine(
  watermarks: WatermarkRegistry | undefined,
  over: Partial<FullSyncEngineOptions> = {},
) {
  return createFullSyncEngine({
    control: db.pool,
    source: () => db.pool,
    backendFor: async () => backend,
    owner: "test",
    log: silentLogger(),
    importMaxAttempts: 3,
    importRetryBaseMs: 1,
    sagaBackupEnabled: true,
    leaseTtlMs: 30_000,
    windowSize: 100,
    ...(watermarks ? { watermarks } : {}),
    ...over,
  });
}

async function table(name: string, n: number) {
  await db.pool.query(`create table ${name} (id int primary key, v text not null)`);
  await db.pool.query(`insert into ${name} select g, 'v1 ' || g from generate_series(1, $1) g`, [
    n,
  ]);
}

async function streamed(client: string, tbl: string) {
  const collection = ts.uniqueName(tbl);
  const jobId = await insertJob(db.pool, { profileId: profile, client, table: tbl, collection });
  const registry = createWatermarkRegistry();
  const stream = runStream({
    control: db.pool,
    source: db.pool,
    sourceUrl: db.url,
    client,
    backend,
    log: silentLogger(),
    watermarks: registry,
    cdc: { slot_prefix: SLOT_PREFIX },
  });
  await waitFor("streaming", () => registry.isStreaming(jobId));
  return { collection, jobId, registry, stream };
}

async function expectEqualsTable(tbl: string, collection: string) {
  const want = await tableDocuments(db.pool, tbl);
  const got = await docsOf(backend, collection);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [id, doc] of want) expect(got.get(id), `doc ${id}`).toEqual(doc);
}

/**
 * The real backend with a hook before each pre-image export, i.e. after a
 * window's rows were read and before they are handed over for writing.
 */
function beforePreImages(hook: (ids: readonly string[]) => Promise<void>): SyncBackend {
  return {
    importDocuments: (c, d, o) => backend.importDocuments(c, d, o),
    deleteDocuments: (c, i) => backend.deleteDocuments(c, i),
    exportIds: (c) => backend.exportIds(c),
    ensureCollection: (c) => backend.ensureCollection(c),
    getCollection: (c) => backend.getCollection(c),
    getDocuments: async (collection, ids) => {
      await hook(ids);
      return backend.getDocuments(collection, ids);
    },
  };
}

/** Overwrites docs in Typesense with a drifted version (so the next run must write them). */
async function drift(collection: string, ids: number[]) {
  const docs: Document[] = ids.map((id) => ({ id: String(id), v: `stale ${id}` }));
  const res = await backend.importDocuments(collection, docs, { action: "upsert" });
  expect(res.every((r) => r.ok)).toBe(true);
}

describe("full sync bracketed by CDC watermarks", () => {
  let stream: RunningStream | undefined;
  afterAll(async () => {
    await stream?.stop();
  });

  it("a row updated after the window read and before its write keeps the stream's newer version", async () => {
    await table("wm_target", 300);
    const s = await streamed("fsw_a", "wm_target");
    stream = s.stream;
    expect((await engine(s.registry).runJob(s.jobId, { trigger: "manual" })).status).toBe(
      "succeeded",
    );
    await expectEqualsTable("wm_target", s.collection);
    // drifted docs make the next run write window 2 (ids 101..200)
    await drift(s.collection, [150, 151]);
    // A real backend whose pre-image export (after the window's rows were read,
    // before they are written) first lets a concurrent update of row 150 reach
    // Typesense through the stream.
    let raced = false;
    const racing = beforePreImages(async (ids) => {
      if (!raced && ids.includes("150")) {
        raced = true;
        await db.pool.query("update wm_target set v = 'newer' where id = 150");
        await waitFor(
          "the stream wrote row 150",
          async () => (await docsOf(backend, s.collection)).get("150")?.v === "newer",
        );
      }
    });
    const windows: WindowSummary[] = [];
    const res = await engine(s.registry, {
      backendFor: async () => racing,
      onWindowCommitted: (w) => {
        windows.push(w);
      },
    }).runJob(s.jobId, { trigger: "manual" });
    expect(raced).toBe(true);
    expect(res.status).toBe("succeeded");
    // row 150 read as 'v1 150' was superseded by the stream; 151 was written at the watermark
    const docs = await docsOf(backend, s.collection);
    expect(docs.get("150")?.v).toBe("newer");
    expect(docs.get("151")?.v).toBe("v1 151");
    expect(windows.reduce((n, w) => n + w.superseded, 0)).toBe(1);
    expect(res.counters).toMatchObject({ imported: 1, failed: 0, unchanged: 298 });
    await expectEqualsTable("wm_target", s.collection);
    await s.stream.stop();
    stream = undefined;
  });

  it("a stream that stops while a window waits for its watermark stops the run; nothing is written directly", async () => {
    await table("wm_stop", 300);
    const s = await streamed("fsw_stop", "wm_stop");
    stream = s.stream;
    expect((await engine(s.registry).runJob(s.jobId, { trigger: "manual" })).status).toBe(
      "succeeded",
    );
    // drifted docs make the next run write window 2 (ids 101..200)
    await drift(s.collection, [150, 151]);
    // The pre-image export runs after the window's rows were read and before
    // they are handed to the stream: stop the stream right there (as when the
    // leadership moves to another instance).
    let stopped = false;
    const stopping = beforePreImages(async (ids) => {
      if (!stopped && ids.includes("150")) {
        stopped = true;
        await s.stream.stop();
      }
    });
    const res = await engine(s.registry, { backendFor: async () => stopping }).runJob(s.jobId, {
      trigger: "manual",
    });
    expect(stopped).toBe(true);
    expect(res.status).toBe("interrupted");
    // the window read under the stopped bracket was not written directly
    const docs = await docsOf(backend, s.collection);
    expect(docs.get("150")?.v).toBe("stale 150");
    expect(docs.get("151")?.v).toBe("stale 151");
    // the run stays open at its checkpoint, its lease released
    const open = await db.pool.query(
      `select r.id, r.next_manifest_seq::int seq, j.lease_owner
         from typesense_sync_runs r join typesense_sync_jobs j on j.id = r.job_id
        where r.job_id = $1 and r.status = 'running'`,
      [s.jobId],
    );
    expect(open.rows).toEqual([{ id: res.runId, seq: 100, lease_owner: null }]);
    // a stream is back (here, or on the new leader): the run resumes and ends equal
    const again = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "fsw_stop",
      backend,
      log: silentLogger(),
      watermarks: s.registry,
      cdc: { slot_prefix: SLOT_PREFIX },
    });
    stream = again;
    await waitFor("streaming again", () => s.registry.isStreaming(s.jobId));
    const resumed = await engine(s.registry).runJob(s.jobId, { trigger: "manual" });
    expect(resumed).toMatchObject({ status: "succeeded", resumed: true, runId: res.runId });
    await expectEqualsTable("wm_stop", s.collection);
    await again.stop();
    stream = undefined;
  });

  it("a full sync during heavy concurrent updates ends with the collection equal to the table", async () => {
    await table("wm_heavy", 3000);
    const s = await streamed("fsw_b", "wm_heavy");
    stream = s.stream;
    let stop = false;
    let writes = 0;
    const load = (async () => {
      // a hot set of rows changes all the time, plus inserts and deletes
      for (let i = 0; !stop; i++) {
        const hot = 1 + ((i * 37) % 200) * 15;
        await db.pool.query("update wm_heavy set v = 'u' || $2 || ' ' || id where id = $1", [
          hot,
          i,
        ]);
        if (i % 10 === 0) {
          await db.pool.query(
            "insert into wm_heavy values ($1, 'ins') on conflict (id) do update set v = 'reins'",
            [3000 + (i % 50)],
          );
        }
        if (i % 15 === 0) await db.pool.query("delete from wm_heavy where id = $1", [2 + i]);
        writes++;
      }
    })();
    const windows: WindowSummary[] = [];
    const res = await engine(s.registry, {
      onWindowCommitted: async (w) => {
        windows.push(w);
        // keep the load running across every window
        const until = writes + 20;
        await waitFor("load progress", () => writes >= until);
      },
    }).runJob(s.jobId, { trigger: "manual" });
    stop = true;
    await load;
    expect(res.status).toBe("succeeded");
    expect(res.counters.failed).toBe(0);
    expect(windows.reduce((n, w) => n + w.imported, 0)).toBeGreaterThan(2500);
    // the stream catches up with the last changes; then nothing is stale
    const want = await tableDocuments(db.pool, "wm_heavy");
    await waitFor("collection == table", async () => {
      const got = await docsOf(backend, s.collection);
      if (got.size !== want.size) return false;
      for (const [id, doc] of want) {
        if (JSON.stringify(got.get(id)) !== JSON.stringify(doc)) return false;
      }
      return true;
    });
    await expectEqualsTable("wm_heavy", s.collection);
    await s.stream.stop();
    stream = undefined;
  });

  it("saga rollback skips a doc CDC wrote since the run began", async () => {
    await table("wm_saga", 300);
    const s = await streamed("fsw_c", "wm_saga");
    stream = s.stream;
    expect((await engine(s.registry).runJob(s.jobId, { trigger: "manual" })).status).toBe(
      "succeeded",
    );
    const ids = Array.from({ length: 300 }, (_, i) => i + 1);
    await drift(s.collection, ids);
    let first = true;
    const res = await engine(s.registry, {
      onWindowCommitted: async () => {
        if (!first) return;
        first = false;
        // window 1 (ids 1..100) is written; CDC now writes a newer row 50
        await db.pool.query("update wm_saga set v = 'cdc' where id = 50");
        await waitFor(
          "the stream wrote row 50",
          async () => (await docsOf(backend, s.collection)).get("50")?.v === "cdc",
        );
        throw new Error("boom after window 1");
      },
    }).runJob(s.jobId, { trigger: "manual" });
    expect(res.status).toBe("failed");
    expect(res.rollback).toMatchObject({ status: "succeeded", restored: 99, deleted: 0 });
    const docs = await docsOf(backend, s.collection);
    expect(docs.get("50")?.v).toBe("cdc");
    expect(docs.get("51")?.v).toBe("stale 51");
    expect(docs.get("1")?.v).toBe("stale 1");
    await s.stream.stop();
    stream = undefined;
  });

  it("the rollback of a resumed run refreshes from the source: a doc the stream wrote during the earlier attempt keeps that version", async () => {
    await table("wm_resumed", 300);
    const s = await streamed("fsw_r", "wm_resumed");
    stream = s.stream;
    expect((await engine(s.registry).runJob(s.jobId, { trigger: "manual" })).status).toBe(
      "succeeded",
    );
    await drift(
      s.collection,
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
    // Attempt 1 writes window 1 (ids 1..100, pre-images "stale N" backed up),
    // the stream then writes a newer row 50, and the attempt stops (as if its
    // process died): its in-memory watch of the stream's changes is gone.
    const stop = new AbortController();
    const first = await engine(s.registry, {
      onWindowCommitted: async () => {
        if (stop.signal.aborted) return;
        await db.pool.query("update wm_resumed set v = 'cdc' where id = 50");
        await waitFor(
          "the stream wrote row 50",
          async () => (await docsOf(backend, s.collection)).get("50")?.v === "cdc",
        );
        stop.abort();
      },
    }).runJob(s.jobId, { trigger: "manual", signal: stop.signal });
    expect(first.status).toBe("interrupted");
    // Attempt 2 resumes at window 2 and fails: the whole run is rolled back.
    const second = await engine(s.registry, {
      onWindowCommitted: () => {
        throw new Error("boom in the resumed attempt");
      },
    }).runJob(s.jobId, { trigger: "manual" });
    expect(second).toMatchObject({ status: "failed", resumed: true, runId: first.runId });
    expect(second.rollback?.status).toBe("succeeded");
    const docs = await docsOf(backend, s.collection);
    // restoring the pre-image would have put "stale 50" over the stream's newer doc
    expect(docs.get("50")?.v).toBe("cdc");
    // the other docs the run wrote are the source's rows, never older
    expect(docs.get("1")?.v).toBe("v1 1");
    expect(docs.get("150")?.v).toBe("v1 150");
    // docs the run never reached keep what they had
    expect(docs.get("250")?.v).toBe("stale 250");
    await s.stream.stop();
    stream = undefined;
  });

  it("orphan sweep: a row inserted after the existence check keeps the doc the stream wrote", async () => {
    await table("wm_orphan", 50);
    const s = await streamed("fsw_e", "wm_orphan");
    stream = s.stream;
    expect((await engine(s.registry).runJob(s.jobId, { trigger: "manual" })).status).toBe(
      "succeeded",
    );
    // two orphans: docs whose rows do not exist
    const ghosts = await backend.importDocuments(
      s.collection,
      [
        { id: "1001", v: "ghost 1001" },
        { id: "1002", v: "ghost 1002" },
      ],
      { action: "upsert" },
    );
    expect(ghosts.every((r) => r.ok)).toBe(true);
    // The sweep's pre-image export of the orphans (after their existence was
    // checked, before they are deleted) first lets an insert of row 1001
    // reach Typesense through the stream.
    let raced = false;
    const racing = beforePreImages(async (ids) => {
      if (!raced && ids.includes("1001")) {
        raced = true;
        await db.pool.query("insert into wm_orphan values (1001, 'fresh')");
        await waitFor(
          "the stream wrote row 1001",
          async () => (await docsOf(backend, s.collection)).get("1001")?.v === "fresh",
        );
      }
    });
    const res = await engine(s.registry, { backendFor: async () => racing }).runJob(s.jobId, {
      trigger: "manual",
    });
    expect(raced).toBe(true);
    expect(res.status).toBe("succeeded");
    expect(res.counters.deleted).toBe(1);
    const docs = await docsOf(backend, s.collection);
    expect(docs.get("1001")?.v).toBe("fresh");
    expect(docs.has("1002")).toBe(false);
    await expectEqualsTable("wm_orphan", s.collection);
    await s.stream.stop();
    stream = undefined;
  });
});

/**
 * Holds an xid open: creating a logical slot waits for every running
 * transaction, so a stream's setup stops in ensureSlot until release().
 */
async function holdSlotCreation() {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query("begin");
  await client.query("select pg_current_xact_id()");
  return {
    /** Resolves once a slot creation of this database waits. */
    waiting: () =>
      waitFor(
        "a slot creation waiting for the open transaction",
        async () =>
          (
            await db.pool.query(
              `select 1 from pg_stat_activity
                where datname = current_database() and state = 'active'
                  and query like '%pg_create_logical_replication_slot%'
                  and pid <> pg_backend_pid()`,
            )
          ).rowCount,
        90_000,
      ),
    release: async () => {
      await client.query("commit");
      await client.end();
    },
  };
}

describe("leader gating", () => {
  // The stream's setup (slot creation) is held back by an open transaction: the
  // leader is known, but its stream is not attached yet. A full sync started now
  // would read rows before the slot exists and write them unbracketed; the
  // resync the new slot requests would then hit the run's lease and be lost.
  // So no run may start until the stream is attached, and the one run that
  // follows is the resync, bracketed by watermarks.
  it("with two serve-like instances only the leader of the client's stream runs its full syncs, once its stream is set up", async () => {
    await table("wm_led", 50);
    const collection = ts.uniqueName("wm_led");
    const jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "fsw_d",
      table: "wm_led",
      collection,
    });
    const blocker = await holdSlotCreation();
    // Stopped like serve stops: schedulers first (their windows may still need
    // the stream), then the CDC supervisors.
    const stopSchedulers = new AbortController();
    const stopCdc = new AbortController();
    const instance = (name: string) => {
      const registry = createWatermarkRegistry();
      const counts = { gateChecks: 0, windows: 0 };
      const watermarks: WatermarkRegistry = {
        ...registry,
        openWindow: (job, ids) => {
          counts.windows++;
          return registry.openWindow(job, ids);
        },
      };
      const settled: (RunResult | Error)[] = [];
      const cdc = createCdcSupervisor({
        control: db.pool,
        pools: { source: () => db.pool, sourceUrl: () => db.url, sourceNames: () => ["fsw_d"] },
        cdc: cdcConfig({ slot_prefix: SLOT_PREFIX }),
        backendFor: async () => backend,
        watermarks,
        log: silentLogger(),
        instanceId: name,
        pollMs: 100,
        leaderPollMs: 100,
        streamOptions: {
          jobsPollMs: 200,
          statsIntervalMs: 100,
          backoff: { baseMs: 20, maxMs: 300 },
        },
      });
      const gate = fullSyncGate(true, (c) => cdc.mayRunFullSyncs(c));
      const scheduler = createScheduler({
        control: db.pool,
        engine: engine(watermarks, { owner: name }),
        log: silentLogger(),
        enabled: true,
        pollMs: 50,
        maxConcurrentRuns: 2,
        listen: false,
        canRun: (job) => {
          if (job.id === jobId) counts.gateChecks++;
          return gate(job);
        },
        onRunSettled: (id, o) => {
          if (id === jobId) settled.push(o);
        },
      });
      const cdcDone = cdc.run(stopCdc.signal);
      const schedulerDone = scheduler.run(stopSchedulers.signal);
      return { name, cdc, counts, settled, cdcDone, schedulerDone };
    };
    const a = instance("inst-a");
    const b = instance("inst-b");
    const runsOfJob = async () =>
      (
        await db.pool.query<{ owner: string | null; trigger: string; status: string }>(
          "select owner, trigger, status from typesense_sync_runs where job_id = $1 order by created_at",
          [jobId],
        )
      ).rows;
    try {
      try {
        // Some instance leads and its stream is setting up: its slot creation
        // waits for the blocker.
        await blocker.waiting();
        // Both schedulers see the job as due again and again meanwhile; neither may run it.
        await waitFor(
          "20 gate checks on each instance (or a run)",
          async () =>
            (a.counts.gateChecks >= 20 && b.counts.gateChecks >= 20) ||
            (await runsOfJob()).length > 0,
          90_000,
        );
        expect(await runsOfJob()).toEqual([]);
        expect([...a.settled, ...b.settled]).toEqual([]);
      } finally {
        await blocker.release();
      }
      const leader = await waitFor(
        "a leader",
        () => (a.cdc.isLeader("fsw_d") ? a : b.cdc.isLeader("fsw_d") ? b : null),
        90_000,
      );
      const standby = leader === a ? b : a;
      await waitFor(
        "the leader ran the job",
        () => leader.settled.some((o) => !(o instanceof Error) && o.status === "succeeded"),
        90_000,
      );
      // exactly one run: the resync the new slot requested, on the leader
      expect(await runsOfJob()).toEqual([
        { owner: leader.name, trigger: "resync", status: "succeeded" },
      ]);
      expect(leader.settled).toHaveLength(1);
      // the standby never even tried (no run, no lease conflict)
      expect(standby.settled).toEqual([]);
      expect(standby.cdc.isLeader("fsw_d")).toBe(false);
      // the run was bracketed: its window went through the stream
      expect(leader.counts.windows).toBeGreaterThan(0);
      expect(standby.counts.windows).toBe(0);
      await expectEqualsTable("wm_led", collection);
    } finally {
      stopSchedulers.abort();
      await Promise.all([a.schedulerDone, b.schedulerDone]);
      stopCdc.abort();
      await Promise.all([a.cdcDone, b.cdcDone]);
    }
  }, 240_000);

  it("a supervisor stopped while its stream is still setting up stops once the setup ends", async () => {
    await table("wm_led_stop", 10);
    await insertJob(db.pool, {
      profileId: profile,
      client: "fsw_f",
      table: "wm_led_stop",
      collection: ts.uniqueName("wm_led_stop"),
    });
    const blocker = await holdSlotCreation();
    const stop = new AbortController();
    const cdc = createCdcSupervisor({
      control: db.pool,
      pools: { source: () => db.pool, sourceUrl: () => db.url, sourceNames: () => ["fsw_f"] },
      cdc: cdcConfig({ slot_prefix: SLOT_PREFIX }),
      backendFor: async () => backend,
      log: silentLogger(),
      instanceId: "inst-stop",
      pollMs: 100,
      leaderPollMs: 100,
      streamOptions: { jobsPollMs: 200, statsIntervalMs: 100, backoff: { baseMs: 20, maxMs: 300 } },
    });
    const done = cdc.run(stop.signal);
    try {
      await blocker.waiting();
      expect(cdc.isLeader("fsw_f")).toBe(true);
      expect(cdc.mayRunFullSyncs("fsw_f")).toBe(false);
      // the stop comes while the setup is under way; the setup ends after it
      stop.abort();
    } finally {
      await blocker.release();
    }
    // before the fix the session attached its abort listener after setup,
    // missed the abort and streamed on: this await never returned
    await done;
    expect(cdc.isLeader("fsw_f")).toBe(false);
    const row = await db.pool.query<{ status: string }>(
      "select status from typesense_cdc_streams where source_client_name = 'fsw_f'",
    );
    expect(row.rows.map((r) => r.status)).toEqual(["stopped"]);
  }, 120_000);

  it("a resync that finds a run holding the job is requested again once that run ends", async () => {
    await table("wm_led_resync", 10);
    const jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "fsw_g",
      table: "wm_led_resync",
      collection: ts.uniqueName("wm_led_resync"),
    });
    // a run of another process holds the lease while the new slot is created
    await db.pool.query(
      `update typesense_sync_jobs set lease_owner = 'elsewhere', lease_token = gen_random_uuid(),
              lease_expires_at = now() + interval '1 hour'
        where id = $1`,
      [jobId],
    );
    const stop = new AbortController();
    const cdc = createCdcSupervisor({
      control: db.pool,
      pools: { source: () => db.pool, sourceUrl: () => db.url, sourceNames: () => ["fsw_g"] },
      cdc: cdcConfig({ slot_prefix: SLOT_PREFIX }),
      backendFor: async () => backend,
      log: silentLogger(),
      instanceId: "inst-resync",
      pollMs: 100,
      leaderPollMs: 100,
      streamOptions: { jobsPollMs: 200, statsIntervalMs: 100, backoff: { baseMs: 20, maxMs: 300 } },
    });
    const done = cdc.run(stop.signal);
    const runs = async () =>
      (
        await db.pool.query<{ trigger: string; status: string }>(
          "select trigger, status from typesense_sync_runs where job_id = $1",
          [jobId],
        )
      ).rows;
    try {
      // set up: the resync request of the joining job has met the lease
      await waitFor("the stream set up", () => cdc.mayRunFullSyncs("fsw_g"), 90_000);
      expect(await runs()).toEqual([]);
      // that run ends (it read rows before the slot existed): a resync follows it
      await db.pool.query(
        `update typesense_sync_jobs set lease_owner = null, lease_token = null,
                lease_expires_at = null
          where id = $1`,
        [jobId],
      );
      await waitFor("a queued resync", async () => (await runs()).length > 0);
      expect(await runs()).toEqual([{ trigger: "resync", status: "queued" }]);
    } finally {
      stop.abort();
      await done;
    }
  }, 120_000);

  it("closing a window with an already-aborted signal rejects at once, without waiting for the stream", async () => {
    const registry = createWatermarkRegistry();
    let emitted = 0;
    const detach = registry.attach({
      jobIds: new Set(["job"]),
      emit: async () => {
        emitted++;
      },
    });
    const w = registry.openWindow("job", ["1"]);
    // the stream never reaches a watermark here: before the fix this waited forever
    await expect(w.close(new Map(), { signal: AbortSignal.abort() })).rejects.toThrow(/aborted/);
    expect(emitted).toBe(0);
    detach();
  });

  it("jobs of a client without CDC jobs run anywhere; CDC off runs everything", () => {
    const gate = fullSyncGate(true, () => false);
    expect(gate({ sourceClientName: "x", clientHasCdc: false })).toBe(true);
    expect(gate({ sourceClientName: "x", clientHasCdc: true })).toBe(false);
    expect(fullSyncGate(true, () => true)({ sourceClientName: "x", clientHasCdc: true })).toBe(
      true,
    );
    expect(fullSyncGate(false, () => false)({ sourceClientName: "x", clientHasCdc: true })).toBe(
      true,
    );
  });
});

describe("CDC join resync", () => {
  function supervisor(client: string, instanceId: string) {
    return createCdcSupervisor({
      control: db.pool,
      pools: { source: () => db.pool, sourceUrl: () => db.url, sourceNames: () => [client] },
      cdc: cdcConfig({ slot_prefix: SLOT_PREFIX }),
      backendFor: async () => backend,
      log: silentLogger(),
      instanceId,
      pollMs: 100,
      leaderPollMs: 100,
      streamOptions: { jobsPollMs: 200, statsIntervalMs: 100, backoff: { baseMs: 20, maxMs: 300 } },
    });
  }
  const runsOf = async (jobId: string) =>
    (
      await db.pool.query<{ id: string; trigger: string; status: string; stage: string }>(
        `select id, trigger, status, stage from typesense_sync_runs
          where job_id = $1 order by created_at, id`,
        [jobId],
      )
    ).rows;

  // The old run's first window was read before the job joined the stream; a
  // row changed after that read and before the join is in neither that window
  // nor the stream. Resuming the old run at its checkpoint (what requestRun
  // does for an unfinished run) would never read it again.
  it("a job with an interrupted run that joins a stream gets a new run that reads every window after the join; the old run is not resumed", async () => {
    await table("wm_join_old", 300);
    const collection = ts.uniqueName("wm_join_old");
    const jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "fsw_j",
      table: "wm_join_old",
      collection,
      cdc: false,
    });
    // a full sync (no CDC yet) stops after its first window (ids 1..100), as on a shutdown drain
    const halt = new AbortController();
    const first = await engine(undefined, {
      maxWindowsInFlight: 1,
      onWindowCommitted: () => halt.abort(),
    }).runJob(jobId, { trigger: "manual", signal: halt.signal });
    expect(first.status).toBe("interrupted");
    expect((await docsOf(backend, collection)).get("5")?.v).toBe("v1 5");
    await db.pool.query("update wm_join_old set v = 'changed before the join' where id = 5");
    await db.pool.query("update typesense_sync_jobs set cdc_enabled = true where id = $1", [jobId]);
    const stop = new AbortController();
    const cdc = supervisor("fsw_j", "inst-join");
    const done = cdc.run(stop.signal);
    try {
      // set up: the slot exists and the joining job's resync was requested
      await waitFor("the stream set up", () => cdc.mayRunFullSyncs("fsw_j"), 90_000);
      const res = await engine(cdc.watermarks).runJob(jobId, { trigger: "schedule" });
      expect(res).toMatchObject({ status: "succeeded", resumed: false });
      expect(await runsOf(jobId)).toEqual([
        { id: first.runId, trigger: "manual", status: "cancelled", stage: "finished" },
        { id: res.runId, trigger: "resync", status: "succeeded", stage: "finished" },
      ]);
      const cancelled = await db.pool.query<{ error_message: string }>(
        "select error_message from typesense_sync_runs where id = $1",
        [first.runId],
      );
      expect(cancelled.rows[0]?.error_message).toMatch(/superseded by a CDC resync/);
      await expectEqualsTable("wm_join_old", collection);
      expect((await docsOf(backend, collection)).get("5")?.v).toBe("changed before the join");
    } finally {
      stop.abort();
      await done;
    }
  }, 120_000);

  it("a pending join resync survives a supervisor restart while a run holds the job's lease", async () => {
    await table("wm_join_restart", 10);
    const jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "fsw_k",
      table: "wm_join_restart",
      collection: ts.uniqueName("wm_join_restart"),
    });
    // a run of another process, started before the join, holds the lease
    const old = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_runs (job_id, trigger, status, stage, owner, started_at)
       values ($1, 'schedule', 'running', 'windows', 'elsewhere', now()) returning id`,
      [jobId],
    );
    const oldRunId = old.rows[0]!.id;
    await db.pool.query(
      `update typesense_sync_jobs set lease_owner = 'elsewhere', lease_token = gen_random_uuid(),
              lease_expires_at = now() + interval '1 hour'
        where id = $1`,
      [jobId],
    );
    const stopA = new AbortController();
    const a = supervisor("fsw_k", "inst-a");
    const doneA = a.run(stopA.signal);
    try {
      await waitFor("A set up", () => a.mayRunFullSyncs("fsw_k"), 90_000);
    } finally {
      // this instance stops (restart, or the leadership moves) before that run ends
      stopA.abort();
      await doneA;
    }
    expect(await runsOf(jobId)).toEqual([
      { id: oldRunId, trigger: "schedule", status: "running", stage: "windows" },
    ]);
    const stopB = new AbortController();
    const b = supervisor("fsw_k", "inst-b");
    const doneB = b.run(stopB.signal);
    try {
      // the job is already part of the stream: B's setup does not see it joining
      await waitFor("B set up", () => b.mayRunFullSyncs("fsw_k"), 90_000);
      expect(await runsOf(jobId)).toHaveLength(1);
      // the other process dies: its lease is gone, its run stays open at its checkpoint
      await db.pool.query(
        `update typesense_sync_jobs set lease_owner = null, lease_token = null,
                lease_expires_at = null
          where id = $1`,
        [jobId],
      );
      await waitFor("a queued resync", async () => (await runsOf(jobId)).length === 2, 20_000);
      const runs = await runsOf(jobId);
      expect(runs[0]).toEqual({
        id: oldRunId,
        trigger: "schedule",
        status: "cancelled",
        stage: "finished",
      });
      expect(runs[1]).toMatchObject({ trigger: "resync", status: "queued", stage: "queued" });
      const job = await db.pool.query<{ pending: boolean }>(
        "select cdc_resync_requested_at is not null as pending from typesense_sync_jobs where id = $1",
        [jobId],
      );
      expect(job.rows[0]?.pending).toBe(false);
    } finally {
      stopB.abort();
      await doneB;
    }
  }, 120_000);
});
