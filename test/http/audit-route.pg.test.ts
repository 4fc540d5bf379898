import { describe, expect, it } from "vitest";
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
});
