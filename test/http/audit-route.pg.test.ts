import pg from "pg";
import { describe, expect, it } from "vitest";
import { createAuditRunner } from "../../src/fullsync/audit-run.js";
import { createTypesenseBackend } from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { admin, jsonInit } from "./fixture.js";
import { useSyncedJob } from "./synced-job.js";

const db = useTestDatabase();
const ts = useTypesense();
const f = useSyncedJob(db, ts, silentLogger);
const audit = () => `/typesense/sync-jobs/${f.jobId}/audit`;

async function key(rights: string[]): Promise<string> {
  const res = await f.t.app.request(
    "/admin/api-keys",
    jsonInit("POST", { name: "audit", rights }, admin),
  );
  expect(res.status).toBe(201);
  return ((await res.json()) as { data: { api_key: string } }).data.api_key;
}

const openAudits = async () =>
  (
    await db.pool.query("select id, status, trigger from typesense_sync_audits where job_id = $1", [
      f.jobId,
    ])
  ).rows;

describe("POST /typesense/sync-jobs/{job_id}/audit", () => {
  it("refuses a request without a key (401) and a key without the proxy right (403)", async () => {
    expect((await f.t.app.request(audit(), { method: "POST" })).status).toBe(401);
    const search = await key(["gateway.typesense_search"]);
    const res = await f.t.app.request(audit(), {
      method: "POST",
      headers: { "X-Athena-Key": search },
    });
    expect(res.status).toBe(403);
    expect(await openAudits()).toEqual([]);
  });

  it("202 with a queued audit (proxy key); 409 naming it while it is open; 404 for an unknown job", async () => {
    const proxy = await key(["gateway.typesense_proxy"]);
    const res = await f.t.app.request(audit(), {
      method: "POST",
      headers: { "X-Athena-Key": proxy },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { data: { audit_id: string; job_id: string } };
    expect(body.data.job_id).toBe(f.jobId);
    expect(await openAudits()).toEqual([
      { id: body.data.audit_id, status: "queued", trigger: "manual" },
    ]);
    const again = await f.call("POST", audit());
    expect(again.status).toBe(409);
    expect(again.json.code).toBe("CONFLICT");
    expect(again.json.message).toContain(body.data.audit_id);
    const unknown = "/typesense/sync-jobs/00000000-0000-4000-8000-000000000000/audit";
    expect((await f.call("POST", unknown)).status).toBe(404);
    // finished: a new one may be queued (admin key)
    await db.pool.query("update typesense_sync_audits set status = 'succeeded' where id = $1", [
      body.data.audit_id,
    ]);
    expect((await f.call("POST", audit())).status).toBe(202);
  });

  it("GET status shows each job's last audit: its findings and repairs", async () => {
    // the earlier tests' audits gone: never audited
    await db.pool.query("delete from typesense_sync_audits where job_id = $1", [f.jobId]);
    const before = await f.call("GET", "/typesense/sync-jobs/status");
    const row = (before.json.data as unknown as { id: string; last_audit: unknown }[]).find(
      (j) => j.id === f.jobId,
    );
    expect(row?.last_audit).toBeNull();
    const backend = createTypesenseBackend({
      nodes: [ts.url],
      apiKey: ts.apiKey,
      timeoutMs: 10_000,
    });
    const source = new pg.Pool({ connectionString: f.sourceUrl });
    try {
      await backend.deleteDocuments(f.collection, ["3"]);
      const queued = await f.call("POST", audit());
      await createAuditRunner({
        control: db.pool,
        source: () => source,
        backendFor: async () => backend,
        owner: "test",
        log: silentLogger(),
      }).runNext();
      const res = await f.call("GET", `/typesense/sync-jobs/${f.jobId}/status`);
      expect(res.json.data.last_audit).toMatchObject({
        id: queued.json.data.audit_id,
        status: "succeeded",
        trigger: "manual",
        source_count: 20,
        typesense_count: 19,
        missing: 1,
        extra: 0,
        differing: 0,
        repaired: { missing: 1, extra: 0, differing: 0 },
        repair_skipped: null,
      });
    } finally {
      await backend.close();
      await source.end();
    }
  });
});
