import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWatermarkRegistry } from "../../src/coordination/watermarks.js";
import { requestAudit, selectAudit } from "../../src/db/repositories/audits.js";
import { createAuditRunner } from "../../src/fullsync/audit-run.js";
import { createFullSyncEngine } from "../../src/fullsync/index.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import {
  backendFor,
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

// Control and source are the same database here (logical replication on it).
const db = useTestDatabase();
const ts = useTypesense();
let backend: TypesenseBackend;
let profile: string;
let stream: RunningStream | undefined;

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
  profile = await insertProfile(db.pool, ts.url, ts.apiKey);
});
afterAll(async () => {
  await stream?.stop();
  await backend.close();
});

describe("drift audit with CDC on", () => {
  it("a row the stream changes while the audit repairs it keeps the stream's newer image", async () => {
    await db.pool.query("create table au_cdc (id int primary key, v text not null)");
    await db.pool.query("insert into au_cdc select g, 'v1 ' || g from generate_series(1, 120) g");
    const collection = ts.uniqueName("au_cdc");
    const jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "aud_a",
      table: "au_cdc",
      collection,
    });
    const registry = createWatermarkRegistry();
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "aud_a",
      backend,
      log: silentLogger(),
      watermarks: registry,
      cdc: { slot_prefix: "t_aud" },
    });
    await waitFor("streaming", () => registry.isStreaming(jobId));
    const run = await createFullSyncEngine({
      control: db.pool,
      source: () => db.pool,
      backendFor: async () => backend,
      owner: "test",
      log: silentLogger(),
      importMaxAttempts: 3,
      importRetryBaseMs: 1,
      sagaBackupEnabled: true,
      leaseTtlMs: 30_000,
      watermarks: registry,
    }).runJob(jobId, { trigger: "manual" });
    expect(run.status).toBe("succeeded");

    // drift: 50 deleted, 51 altered directly in Typesense
    await backend.deleteDocuments(collection, ["50"]);
    await backend.importDocuments(collection, [{ id: "51", v: "tampered" }], { action: "upsert" });

    // The audit read rows 50 and 51 (as 'v1 ...'); before its repair is
    // written, the stream writes newer images of both.
    let raced = false;
    const runner = createAuditRunner({
      control: db.pool,
      source: () => db.pool,
      backendFor: async () => backend,
      watermarks: registry,
      owner: "test",
      log: silentLogger(),
      hooks: {
        beforeRepairWrite: async (ids) => {
          if (raced || !ids.includes("50")) return;
          raced = true;
          await db.pool.query("update au_cdc set v = 'newer ' || id where id in (50, 51)");
          await waitFor("the stream wrote rows 50 and 51", async () => {
            const docs = await docsOf(backend, collection);
            return docs.get("50")?.v === "newer 50" && docs.get("51")?.v === "newer 51";
          });
        },
      },
    });
    const auditId = (await requestAudit(db.pool, jobId, "manual")) as string;
    await runner.runNext();
    expect(raced).toBe(true);
    const report = await selectAudit(db.pool, auditId);
    expect(report).toMatchObject({
      status: "succeeded",
      missing_ids: ["50"],
      differing_ids: ["51"],
      superseded_count: "2",
      repaired_missing: "0",
      repaired_differing: "0",
      repair_skipped: null,
    });
    const docs = await docsOf(backend, collection);
    expect(docs.get("50")?.v).toBe("newer 50");
    expect(docs.get("51")?.v).toBe("newer 51");
    expect(docs.size).toBe(120);
  });
});
