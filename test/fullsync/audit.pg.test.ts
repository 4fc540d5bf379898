import { describe, expect, it } from "vitest";
import { requestAudit, selectAudit } from "../../src/db/repositories/audits.js";
import type { AuditBackend } from "../../src/fullsync/audit.js";
import { createAuditRunner } from "../../src/fullsync/audit-run.js";
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
});
