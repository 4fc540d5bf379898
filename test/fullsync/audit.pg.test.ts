import { describe, expect, it } from "vitest";
import { requestAudit, selectAudit } from "../../src/db/repositories/audits.js";
import type { AuditBackend } from "../../src/fullsync/audit.js";
import { createAuditRunner } from "../../src/fullsync/audit-run.js";
import { createAuditService } from "../../src/scheduler/index.js";
import { silentLogger } from "../support/log.js";
import { insertJob } from "./helpers.js";
import { createProducts, expectCollectionEqualsTable, useEngineFixture } from "./support.js";

const fx = useEngineFixture({ owner: "test", windowSize: 100 });
const { db, source, ts, engine } = fx;

async function syncedJob(table: string, rows: number) {
  await createProducts(source.pool, table, rows);
  const collection = ts.uniqueName(table);
  const jobId = await insertJob(db.pool, { collection, table, windowSize: 100 });
  expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
  return { jobId, collection };
}

/** Drift made directly in Typesense: 5 and 120 deleted, 7 altered, 9999 added. */
async function drift(collection: string) {
  const b = fx.backend;
  await b.deleteDocuments(collection, ["5", "120"]);
  const [seven] = [...(await b.getDocuments(collection, ["7"])).values()];
  await b.importDocuments(collection, [{ ...seven!, name: "tampered" }], { action: "upsert" });
  await b.importDocuments(collection, [{ ...seven!, id: "9999" }], { action: "upsert" });
}

function runner(over: Partial<Parameters<typeof createAuditRunner>[0]> = {}) {
  return createAuditRunner({
    control: db.pool,
    source: () => source.pool,
    backendFor: async () => fx.backend,
    owner: "test",
    log: silentLogger(),
    pageSize: 50,
    ...over,
  });
}

/** The other tests' jobs (their open audits are left alone). */
async function otherJobs(jobId: string): Promise<string[]> {
  const r = await db.pool.query<{ id: string }>(
    "select id from typesense_sync_jobs where id <> $1",
    [jobId],
  );
  return r.rows.map((x) => x.id);
}

async function audit(jobId: string, r = runner()) {
  const id = await requestAudit(db.pool, jobId, "manual");
  expect(typeof id).toBe("string");
  await r.runNext();
  return (await selectAudit(db.pool, id as string))!;
}

describe("drift audit", () => {
  it("reports missing, extra and differing documents with their ids, repairs them, then reports clean", async () => {
    const { jobId, collection } = await syncedJob("a_kinds", 250);
    await drift(collection);
    await db.pool.query("update typesense_sync_jobs set audit_repair = false where id = $1", [
      jobId,
    ]);
    const report = await audit(jobId);
    expect(report).toMatchObject({
      status: "succeeded",
      source_count: "250",
      typesense_count: "249",
      compared_count: "248",
      missing_count: "2",
      missing_ids: ["5", "120"],
      extra_count: "1",
      extra_ids: ["9999"],
      differing_count: "1",
      differing_ids: ["7"],
      repaired_missing: "0",
      repaired_extra: "0",
      repaired_differing: "0",
      repair_skipped: "audit_repair is off",
    });

    await db.pool.query("update typesense_sync_jobs set audit_repair = true where id = $1", [
      jobId,
    ]);
    const repaired = await audit(jobId);
    expect(repaired).toMatchObject({
      missing_count: "2",
      extra_count: "1",
      differing_count: "1",
      repaired_missing: "2",
      repaired_extra: "1",
      repaired_differing: "1",
      repair_skipped: null,
    });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "a_kinds");

    const clean = await audit(jobId);
    expect(clean).toMatchObject({
      status: "succeeded",
      source_count: "250",
      typesense_count: "250",
      missing_count: "0",
      extra_count: "0",
      differing_count: "0",
      missing_ids: [],
    });
  });

  it("compares the contents of a sample only, yet finds every missing and extra id", async () => {
    const { jobId, collection } = await syncedJob("a_sample", 200);
    await drift(collection);
    await db.pool.query(
      "update typesense_sync_jobs set audit_sample = 0.5, audit_repair = false where id = $1",
      [jobId],
    );
    let n = 0;
    // every other document is sampled: 7 (the altered one) is not, so its drift goes unseen
    const report = await audit(jobId, runner({ random: () => (n++ % 2 === 0 ? 0.9 : 0.1) }));
    expect(report).toMatchObject({
      sample: 0.5,
      missing_ids: ["5", "120"],
      extra_ids: ["9999"],
    });
    expect(Number(report.compared_count)).toBe(99);
  });

  it("holds one page of documents at a time: no Typesense read asks for more ids than the page", async () => {
    const { jobId, collection } = await syncedJob("a_bounded", 260);
    await drift(collection);
    const asked: number[] = [];
    const b = fx.backend;
    const counting: AuditBackend = {
      exportDocuments: (c, o) => {
        asked.push(o?.ids?.length ?? Number.POSITIVE_INFINITY);
        return b.exportDocuments(c, o);
      },
      getDocuments: (c, ids) => {
        asked.push(ids.length);
        return b.getDocuments(c, ids);
      },
      exportIds: (c) => b.exportIds(c),
      getCollection: (c) => b.getCollection(c),
      importDocuments: (c, d, o) => b.importDocuments(c, d, o),
      deleteDocuments: (c, ids) => b.deleteDocuments(c, ids),
    };
    const report = await audit(jobId, runner({ backendFor: async () => counting }));
    expect(report).toMatchObject({ status: "succeeded", repaired_missing: "2" });
    expect(asked.length).toBeGreaterThanOrEqual(6);
    expect(Math.max(...asked)).toBeLessThanOrEqual(50);
  });

  it("with CDC on but no stream applying the job here, reports the drift and repairs nothing", async () => {
    const { jobId, collection } = await syncedJob("a_elsewhere", 60);
    await drift(collection);
    await db.pool.query("update typesense_sync_jobs set cdc_enabled = true where id = $1", [jobId]);
    const report = await audit(jobId);
    expect(report).toMatchObject({
      missing_count: "1",
      extra_count: "1",
      differing_count: "1",
      repaired_missing: "0",
      repaired_extra: "0",
      repaired_differing: "0",
      repair_skipped: "CDC is on but its stream does not apply the job on this instance",
    });
    expect((await fx.backend.getDocuments(collection, ["5", "9999"])).size).toBe(1);
  });

  it("refuses a second audit of a job while one is open, and fails an audit whose job vanished", async () => {
    const { jobId } = await syncedJob("a_open", 3);
    const first = await requestAudit(db.pool, jobId, "manual");
    expect(typeof first).toBe("string");
    expect(await requestAudit(db.pool, jobId, "manual")).toBeNull();
    expect(await requestAudit(db.pool, "00000000-0000-0000-0000-000000000000", "manual")).toBe(
      "missing",
    );
  });

  it("schedules an audit per job every audit_interval_seconds, the first one an interval after the job was made; 0 or null: never", async () => {
    const { jobId } = await syncedJob("a_sched", 30);
    const exclude = await otherJobs(jobId);
    const r = runner();
    // synced, but made less than a day ago: its first sync just compared every document
    expect(await r.runNext(exclude)).toBeNull();
    await db.pool.query(
      "update typesense_sync_jobs set created_at = now() - interval '25 hours' where id = $1",
      [jobId],
    );
    // an instance without the sync worker starts no scheduled audit
    expect(await runner({ scheduled: false }).runNext(exclude)).toBeNull();
    const first = await r.runNext(exclude);
    expect(first).toMatchObject({ jobId, trigger: "schedule", released: false });
    expect(await selectAudit(db.pool, first!.id)).toMatchObject({ status: "succeeded" });
    // audited less than a day ago: not due
    expect(await r.runNext(exclude)).toBeNull();
    await db.pool.query(
      "update typesense_sync_audits set created_at = now() - interval '25 hours' where job_id = $1",
      [jobId],
    );
    await db.pool.query("update typesense_sync_jobs set audit_interval_seconds = 0 where id = $1", [
      jobId,
    ]);
    expect(await r.runNext(exclude)).toBeNull();
    await db.pool.query(
      "update typesense_sync_jobs set audit_interval_seconds = null where id = $1",
      [jobId],
    );
    expect(await r.runNext(exclude)).toBeNull();
    await db.pool.query(
      "update typesense_sync_jobs set audit_interval_seconds = 86400 where id = $1",
      [jobId],
    );
    expect(await r.runNext(exclude)).toMatchObject({ jobId, trigger: "schedule" });
  });

  it("an audit this instance may not run (CDC leader elsewhere) is given back: a requested one stays queued", async () => {
    const { jobId } = await syncedJob("a_release", 5);
    const exclude = await otherJobs(jobId);
    const id = (await requestAudit(db.pool, jobId, "manual")) as string;
    const r = runner({ mayAudit: () => false });
    expect(await r.runNext(exclude)).toMatchObject({ id, released: true });
    expect(await selectAudit(db.pool, id)).toMatchObject({ status: "queued", owner: null });
    expect(await r.runNext([...exclude, jobId])).toBeNull();
    expect(await selectAudit(db.pool, id)).toMatchObject({ status: "queued" });
    await runner().runNext(exclude);
    expect(await selectAudit(db.pool, id)).toMatchObject({ status: "succeeded" });
  });

  it("the audit service runs a requested audit when woken and stops with its signal", async () => {
    const { jobId } = await syncedJob("a_service", 5);
    await db.pool.query("update typesense_sync_jobs set audit_interval_seconds = 0");
    const svc = createAuditService({ runner: runner(), log: silentLogger(), pollMs: 60_000 });
    const ac = new AbortController();
    const running = svc.run(ac.signal);
    const id = (await requestAudit(db.pool, jobId, "manual")) as string;
    svc.auditRequested();
    for (let i = 0; i < 200; i++) {
      if ((await selectAudit(db.pool, id))?.status === "succeeded") break;
      await new Promise((res) => setTimeout(res, 25));
    }
    expect(await selectAudit(db.pool, id)).toMatchObject({ status: "succeeded" });
    ac.abort();
    await running;
  });
});
