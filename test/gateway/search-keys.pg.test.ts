import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { insertJob } from "../fullsync/helpers.js";
import { admin, ENC_KEY, jsonInit, useTestApp } from "../http/fixture.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";

const db = useTestDatabase();
const t = useTestApp(db, silentLogger, { encryptionKey: ENC_KEY });
let jobId = "";
beforeAll(async () => {
  jobId = await insertJob(db.pool, { collection: "c1", table: "t1" });
});

async function call(method: string, path: string, body?: unknown, headers = admin) {
  const res = await t.app.request(
    path,
    body === undefined ? { method, headers } : jsonInit(method, body, headers),
  );
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: the test reads envelope fields of several shapes
  return { status: res.status, text, json: JSON.parse(text) as Record<string, any> };
}

describe("/admin/search-keys", () => {
  it("needs the admin key: 401 without a key, 403 with a gateway key holding every right", async () => {
    expect((await call("GET", "/admin/search-keys", undefined, {} as never)).status).toBe(401);
    const gw = await call("POST", "/admin/api-keys", { name: "all", rights: ["*"] });
    const headers = { "X-Athena-Key": gw.json.data.api_key as string } as typeof admin;
    expect((await call("GET", "/admin/search-keys", undefined, headers)).status).toBe(403);
    const create = await call(
      "POST",
      "/admin/search-keys",
      { name: "x", job_ids: [randomUUID()] },
      headers,
    );
    expect(create.status).toBe(403);
    // 401 even when the body is malformed: auth runs first
    const res = await t.app.request("/admin/search-keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(401);
  });

  it("creates a key whose token is returned once and stored sealed, never listed", async () => {
    const job = jobId;
    const c = await call("POST", "/admin/search-keys", {
      name: "shop",
      job_ids: [job],
      filter_by: "tenant_id:=42",
      include_fields: "title,price",
      per_page_max: 20,
    });
    expect(c.status).toBe(201);
    const token = c.json.data.api_key as string;
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(token.startsWith(c.json.data.key.public_id)).toBe(true);
    expect(c.json.data.key).toMatchObject({
      job_ids: [job],
      filter_by: "tenant_id:=42",
      per_page_max: 20,
    });

    const list = await call("GET", "/admin/search-keys");
    const one = await call("GET", `/admin/search-keys/${c.json.data.key.id}`);
    for (const r of [list, one]) {
      expect(r.status).toBe(200);
      expect(r.text).not.toContain(token.slice(12));
      expect(r.text).not.toContain("token_sealed");
    }
    const stored = await db.pool.query("select token_sealed from api_search_keys where id = $1", [
      c.json.data.key.id,
    ]);
    expect(stored.rows[0].token_sealed).toMatch(/^enc:v1:/);
    expect(stored.rows[0].token_sealed).not.toContain(token);
  });

  it("bad input is 400 naming the field", async () => {
    const r = await call("POST", "/admin/search-keys", { name: "x", job_ids: ["nope"] });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json.error)).toContain("body.job_ids.0");
    const r2 = await call("POST", "/admin/search-keys", {
      name: "x",
      job_ids: [jobId],
      per_page_max: 999,
    });
    expect(JSON.stringify(r2.json.error)).toContain("body.per_page_max");
    // a uuid that names no job: a key that would find nothing
    const ghost = randomUUID();
    const r3 = await call("POST", "/admin/search-keys", { name: "x", job_ids: [jobId, ghost] });
    expect([r3.status, r3.json.message, r3.json.error]).toEqual([
      400,
      `no sync job ${ghost}`,
      { field: "job_ids" },
    ]);
  });

  it("patches and deletes a key", async () => {
    const c = await call("POST", "/admin/search-keys", { name: "p", job_ids: [jobId] });
    const id = c.json.data.key.id as string;
    const p = await call("PATCH", `/admin/search-keys/${id}`, { is_active: false, limit_hits: 5 });
    expect(p.status).toBe(200);
    expect(p.json.data).toMatchObject({ is_active: false, limit_hits: 5 });
    expect((await call("DELETE", `/admin/search-keys/${id}`)).status).toBe(200);
    expect((await call("GET", `/admin/search-keys/${id}`)).status).toBe(404);
    expect((await call("DELETE", `/admin/search-keys/${id}`)).status).toBe(404);
  });
});
