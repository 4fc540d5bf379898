import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CdcSetupError } from "../../src/cdc/errors.js";
import { parseLsn } from "../../src/cdc/lsn.js";
import { setupStream } from "../../src/cdc/setup.js";
import { createCdcSupervisor } from "../../src/cdc/supervisor.js";
import { createWatermarkRegistry } from "../../src/coordination/watermarks.js";
import { loadCdcJobs } from "../../src/db/repositories/cdc-jobs.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";
import { urlForDatabase, useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import {
  backendFor,
  cdcConfig,
  docsOf,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  streamRow,
  waitFor,
} from "./helpers.js";

const db = useTestDatabase();
const ts = useTypesense();

describe("CDC setup, lost slot, leadership and watermarks", () => {
  let backend: TypesenseBackend;
  let profile: string;

  beforeAll(async () => {
    backend = backendFor(ts.url, ts.apiKey);
    profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    await db.pool.query(`
      create table good (id int primary key, v text);
      create table nokey (id int, v text);
      create table byname (id int primary key, name text unique not null, v text);
    `);
  });

  it("rejects a table whose deletes cannot carry the document id, with advice, and streams the rest", async () => {
    const goodJob = await insertJob(db.pool, {
      profileId: profile,
      client: "c1",
      table: "good",
      collection: ts.uniqueName("good"),
    });
    const noKey = await insertJob(db.pool, {
      profileId: profile,
      client: "c1",
      table: "nokey",
      collection: ts.uniqueName("nokey"),
    });
    const byName = await insertJob(db.pool, {
      profileId: profile,
      client: "c1",
      table: "byname",
      collection: ts.uniqueName("byname"),
      idColumn: "name",
    });
    const r = await setupStream({
      source: db.pool,
      control: db.pool,
      clientName: "c1",
      slotName: "setup_c1",
      publicationName: "setup_c1",
      plugin: "pgoutput",
      jobs: await loadCdcJobs(db.pool, "c1"),
      log: silentLogger(),
    });
    expect(r.accepted.map((a) => a.job.id)).toEqual([goodJob]);
    const reasons = new Map(r.rejected.map((x) => [x.job.id, x.reason]));
    expect(reasons.get(noKey)).toMatch(/no primary key.*REPLICA IDENTITY FULL/);
    expect(reasons.get(byName)).toMatch(/carry only \(id\).*"name".*REPLICA IDENTITY FULL/);
    const pub = await db.pool.query(
      "select tablename from pg_publication_tables where pubname = 'setup_c1'",
    );
    expect(pub.rows.map((x) => x.tablename)).toEqual(["good"]);
    // with REPLICA IDENTITY FULL the same job is accepted and the publication follows
    await db.pool.query("alter table byname replica identity full");
    const r2 = await setupStream({
      source: db.pool,
      control: db.pool,
      clientName: "c1",
      slotName: "setup_c1",
      publicationName: "setup_c1",
      plugin: "pgoutput",
      jobs: await loadCdcJobs(db.pool, "c1"),
      log: silentLogger(),
    });
    expect(r2.accepted.map((a) => a.job.id).sort()).toEqual([goodJob, byName].sort());
    expect(r2.slotCreated).toBe(false);
    const pub2 = await db.pool.query(
      "select tablename from pg_publication_tables where pubname = 'setup_c1' order by 1",
    );
    expect(pub2.rows.map((x) => x.tablename)).toEqual(["byname", "good"]);
    await db.pool.query(
      "update typesense_sync_jobs set cdc_enabled = false where source_client_name = 'c1'",
    );
  });

  it("names the missing REPLICATION right and how to grant it", async () => {
    const role = `norepl_${Date.now()}`;
    await db.pool.query(`create role ${role} login password 'pw'`);
    const u = new URL(urlForDatabase(db.adminUrl, db.name));
    u.username = role;
    u.password = "pw";
    const pool = new pg.Pool({ connectionString: u.toString(), max: 1 });
    try {
      const err = await setupStream({
        source: pool,
        control: db.pool,
        clientName: "c2",
        slotName: "setup_c2",
        publicationName: "setup_c2",
        plugin: "pgoutput",
        jobs: [],
        log: silentLogger(),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CdcSetupError);
      expect((err as Error).message).toMatch(new RegExp(`ALTER ROLE "${role}" WITH REPLICATION`));
    } finally {
      await pool.end();
      await db.pool.query(`drop role ${role}`);
    }
  });

  describe("a slot dropped under a running stream", () => {
    let stream: RunningStream;
    const resyncs: string[] = [];
    let jobId: string;
    let coll: string;
    afterAll(async () => {
      await stream?.stop();
    });

    it("is recreated, shown as lost, and every job gets a rebuild requested (reason on its marker); streaming goes on", async () => {
      await db.pool.query("create table lossy (id int primary key, v text)");
      coll = ts.uniqueName("lossy");
      jobId = await insertJob(db.pool, {
        profileId: profile,
        client: "c3",
        table: "lossy",
        collection: coll,
      });
      stream = runStream({
        control: db.pool,
        source: db.pool,
        sourceUrl: db.url,
        client: "c3",
        backend,
        log: silentLogger(),
        resyncs,
      });
      await waitFor(
        "streaming",
        async () => (await streamRow(db.pool, "c3"))?.status === "streaming",
      );
      await db.pool.query("insert into lossy values (1, 'a')");
      await waitFor("doc 1", async () => (await docsOf(backend, coll)).has("1"));
      expect(resyncs).toEqual([jobId]); // joined the stream
      // an operator (or max_slot_wal_keep_size) takes the slot away
      await waitFor("slot dropped", async () => {
        await db.pool.query(
          "select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = 't_cdc_c3' and active_pid is not null",
        );
        const r = await db.pool
          .query("select pg_drop_replication_slot('t_cdc_c3')")
          .catch(() => null);
        return r !== null;
      });
      await waitFor("resync requested", () => resyncs.length === 2);
      expect(resyncs).toEqual([jobId, jobId]);
      const row = await streamRow(db.pool, "c3");
      expect(row?.last_error).toMatch(/lost.*rebuild requested/);
      // the marker asks for a rebuild, with why (requestJoinResync queues it: rebuild-cdc.pg.test.ts)
      const marker = await db.pool.query(
        "select cdc_resync_reason from typesense_sync_jobs where id = $1",
        [jobId],
      );
      expect(marker.rows[0]?.cdc_resync_reason).toMatch(/replication slot "t_cdc_c3" was lost/);
      await waitFor(
        "streaming again",
        async () => (await streamRow(db.pool, "c3"))?.status === "streaming",
      );
      await db.pool.query("insert into lossy values (2, 'b')");
      await waitFor("doc 2", async () => (await docsOf(backend, coll)).has("2"));
    });

    it("a full-sync window bracketed by watermarks never writes an older row over a newer one", async () => {
      const registry = createWatermarkRegistry();
      await stream.stop();
      stream = runStream({
        control: db.pool,
        source: db.pool,
        sourceUrl: db.url,
        client: "c3",
        backend,
        log: silentLogger(),
        watermarks: registry,
      });
      await waitFor("streaming", () => registry.isStreaming(jobId));
      await db.pool.query("insert into lossy values (10, 'old'), (11, 'old')");
      await waitFor("docs 10, 11", async () => (await docsOf(backend, coll)).has("11"));
      // acknowledged, so a reconnect cannot replay (and conservatively evict) them
      const walNow = await db.pool.query<{ l: string }>("select pg_current_wal_lsn()::text as l");
      const target = parseLsn(walNow.rows[0]!.l);
      await waitFor("inserts acknowledged", () =>
        stream.checkpoints.some((c) => c.lsn !== null && c.lsn >= target),
      );
      // (1) register, (2) "read" rows (stale versions), (3) a concurrent update lands in between
      const w = registry.openWindow(jobId, ["10", "11", "12"]);
      await db.pool.query("update lossy set v = 'new' where id = 10");
      const outcome = await w.close(
        new Map([
          ["10", { id: "10", v: "old" }],
          ["11", { id: "11", v: "read by full sync" }],
        ]),
      );
      expect(outcome.superseded).toEqual(["10"]);
      expect(outcome.written).toEqual(["11"]);
      const docs = await docsOf(backend, coll);
      expect(docs.get("10")?.v).toBe("new");
      expect(docs.get("11")?.v).toBe("read by full sync");
    });
  });

  it("only one of two supervisors streams a client; the other takes over when it stops", async () => {
    await db.pool.query("create table led (id int primary key, v text)");
    const coll = ts.uniqueName("led");
    await insertJob(db.pool, { profileId: profile, client: "c4", table: "led", collection: coll });
    const sup = (instanceId: string) =>
      createCdcSupervisor({
        control: db.pool,
        pools: { source: () => db.pool, sourceUrl: () => db.url, sourceNames: () => ["c4"] },
        cdc: cdcConfig({ slot_prefix: "lead" }),
        backendFor: async () => backend,
        log: silentLogger(),
        instanceId,
        pollMs: 100,
        leaderPollMs: 100,
        streamOptions: {
          statsIntervalMs: 100,
          backoff: { baseMs: 20, maxMs: 200 },
          requestResync: async () => {},
        },
      });
    const a = sup("a");
    const b = sup("b");
    const ca = new AbortController();
    const cb = new AbortController();
    const runA = a.run(ca.signal);
    await waitFor("a leads", () => a.isLeader("c4"));
    // leading is not streaming yet: wait for the slot and the stream row
    await waitFor("a streams", async () => {
      const r = await streamRow(db.pool, "c4");
      return r?.status === "streaming" && r.leader_instance === "a";
    });
    const runB = b.run(cb.signal);
    try {
      await db.pool.query("insert into led values (1, 'x')");
      await waitFor("doc 1", async () => (await docsOf(backend, coll)).has("1"));
      expect(b.isLeader("c4")).toBe(false);
      expect((await streamRow(db.pool, "c4"))?.leader_instance).toBe("a");
    } finally {
      ca.abort();
      await runA;
    }
    await waitFor("b leads", () => b.isLeader("c4"));
    await db.pool.query("insert into led values (2, 'y')");
    await waitFor("doc 2 via b", async () => (await docsOf(backend, coll)).has("2"));
    await waitFor(
      "b in the row",
      async () => (await streamRow(db.pool, "c4"))?.leader_instance === "b",
    );
    cb.abort();
    await runB;
    expect((await streamRow(db.pool, "c4"))?.status).toBe("stopped");
  });
});
