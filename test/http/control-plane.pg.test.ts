import { describe, expect, it } from "vitest";
import { capturingLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { admin, ENC_KEY, jsonInit, useSourceDatabase, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const src = useSourceDatabase(
  `create table products (
    id bigint primary key, sku text unique, title text not null, body varchar(200),
    price numeric, tags text[], category text, created_at timestamptz default now())`,
  "create table no_key (code text, name text)",
);

const cap = capturingLogger();
const t = useTestApp(db, () => cap.log, {
  clients: () => ({ app: src.url }),
  encryptionKey: ENC_KEY,
  allowHttp: false,
});
const SECRET = "ts-secret-key-XYZ-0123456789";

type J = { status: string; message: string; data: Record<string, unknown>; error?: unknown };
const call = async (method: string, path: string, body?: unknown) => {
  const res = await t.app.request(
    path,
    body === undefined ? { method, headers: admin } : jsonInit(method, body, admin),
  );
  return { status: res.status, json: (await res.json()) as J };
};

let backendId = "";
const job = (over: Record<string, unknown> = {}) => ({
  profile_id: backendId,
  source_client_name: "app",
  source_table_name: "products",
  collection_name: `products_${Math.random().toString(36).slice(2, 8)}`,
  document_id_column: "id",
  queryable_fields: ["title", "body"],
  ...over,
});

describe("backends", () => {
  it("create encrypts the key at rest and shows only the last 4", async () => {
    const r = await call("POST", "/typesense/backends", {
      name: "main",
      base_url: "https://ts.example.com:8108/",
      api_key: SECRET,
      timeout_ms: 2000,
    });
    expect(r.status).toBe(201);
    backendId = r.json.data.id as string;
    expect(r.json.data).toMatchObject({
      base_url: "https://ts.example.com:8108",
      api_key_last4: "6789",
      api_key_encrypted: true,
    });
    const row = await db.pool.query("select api_key_stored from typesense_profiles where id = $1", [
      backendId,
    ]);
    expect(row.rows[0].api_key_stored).toMatch(/^enc:v1:[^:]+:[^:]+:[^:]+$/);
    expect(row.rows[0].api_key_stored).not.toContain(SECRET);
  });

  it("allow_http=false rejects http:// with a clear 400", async () => {
    const r = await call("POST", "/typesense/backends", {
      name: "h",
      base_url: "http://x:8108",
      api_key: SECRET,
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/http:\/\/.*allow_http/);
    const p = await call("PATCH", `/typesense/backends/${backendId}`, { base_url: "http://x" });
    expect(p.status).toBe(400);
    for (const path of ["/typesense/backends/test", "/typesense/collections/list"]) {
      const u = await call("POST", path, { base_url: "http://127.0.0.1:1", api_key: "k" });
      expect(u.status, path).toBe(400);
      expect(u.json.message).toMatch(/allow_http is false/);
    }
  });

  it("duplicate name 409, unknown 404, list/get/patch", async () => {
    expect(
      (
        await call("POST", "/typesense/backends", {
          name: "main",
          base_url: "https://a",
          api_key: SECRET,
        })
      ).status,
    ).toBe(409);
    expect(
      (await call("GET", "/typesense/backends/00000000-0000-4000-8000-000000000000")).status,
    ).toBe(404);
    expect((await call("GET", "/typesense/backends/zzz")).status).toBe(404);
    const l = await call("GET", "/typesense/backends");
    expect((l.json.data as unknown as unknown[]).length).toBe(1);
    const p = await call("PATCH", `/typesense/backends/${backendId}`, { timeout_ms: 3000 });
    expect(p.json.data).toMatchObject({ timeout_ms: 3000, api_key_last4: "6789" });
    const bad = await call("PATCH", `/typesense/backends/${backendId}`, { timeout_ms: -1 });
    expect(bad.status).toBe(400);
  });

  it("a PATCH that moves the address without a new api_key is 400 and the saved key stays on its host", async () => {
    const path = `/typesense/backends/${backendId}`;
    for (const patch of [
      { base_url: "https://attacker.example.com" },
      { additional_node_urls: ["https://attacker.example.com"] },
      { name: "renamed", base_url: "https://elsewhere.example.com:8108" },
    ]) {
      const r = await call("PATCH", path, patch);
      expect(r.status, JSON.stringify(patch)).toBe(400);
      expect(r.json.message).toBe("api_key is required when the address changes");
      expect(r.json.error).toEqual({ field: "api_key" });
    }
    const kept = await call("GET", path);
    expect(kept.json.data).toMatchObject({
      name: "main",
      base_url: "https://ts.example.com:8108",
      additional_node_urls: [],
    });
    // the stored address given again is no change; with a new key the address may move
    expect((await call("PATCH", path, { base_url: "https://ts.example.com:8108/" })).status).toBe(
      200,
    );
    const moved = await call("PATCH", path, {
      base_url: "https://ts2.example.com",
      api_key: `${SECRET}-2`,
    });
    expect(moved.status).toBe(200);
    expect(moved.json.data).toMatchObject({ base_url: "https://ts2.example.com" });
    await call("PATCH", path, { base_url: "https://ts.example.com:8108", api_key: SECRET });
  });
});

describe("sync jobs: validation against the real source table", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["unknown client", { source_client_name: "nope" }, /unknown source client "nope"/],
    ["missing table", { source_table_name: "missing" }, /"public"\."missing".*does not exist/],
    ["missing schema", { source_schema_name: "other" }, /"other"\."products"/],
    ["missing id column", { document_id_column: "nope" }, /column "nope"/],
    ["missing included column", { included_columns: ["title", "ghost"] }, /column "ghost"/],
    ["missing queryable field", { queryable_fields: ["ghost2"] }, /column "ghost2"/],
    ["queryable not a string", { queryable_fields: ["price"] }, /column "price".*string/],
    [
      "id column not unique",
      { document_id_column: "category", included_columns: ["title"] },
      /column "category".*unique/,
    ],
    [
      "table without any key",
      { source_table_name: "no_key", document_id_column: "code", queryable_fields: ["name"] },
      /column "code".*unique/,
    ],
    ["unknown backend", { profile_id: "00000000-0000-4000-8000-000000000000" }, /profile_id/],
  ];
  for (const [name, over, msg] of cases) {
    it(`400: ${name}`, async () => {
      const r = await call("POST", "/typesense/sync-jobs", job(over));
      expect(r.status).toBe(400);
      expect(r.json.message).toMatch(msg);
    });
  }

  it("400 from the schema: empty queryable_fields, bad collection name, unknown key", async () => {
    for (const over of [{ queryable_fields: [] }, { collection_name: "a/b" }, { surprise: 1 }]) {
      const r = await call("POST", "/typesense/sync-jobs", job(over));
      expect(r.status).toBe(400);
      expect((r.json.error as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    }
  });

  it("a unique (non-PK) id column and string[] queryable fields are accepted", async () => {
    const r = await call(
      "POST",
      "/typesense/sync-jobs",
      job({
        document_id_column: "sku",
        included_columns: ["sku", "price"],
        queryable_fields: ["tags", "title"],
      }),
    );
    expect(r.status).toBe(201);
  });
});

describe("sync jobs: CRUD, status, run, runs", () => {
  let jobId = "";
  it("create, get, list, patch (revalidated), duplicate collection 409", async () => {
    const c = await call(
      "POST",
      "/typesense/sync-jobs",
      job({ collection_name: "products", included_columns: ["title", "body", "price"] }),
    );
    expect(c.status).toBe(201);
    jobId = c.json.data.id as string;
    expect(c.json.data).toMatchObject({ source_schema_name: "public", enabled: true });
    expect(c.json.data).not.toHaveProperty("lease_token");
    expect((await call("GET", `/typesense/sync-jobs/${jobId}`)).json.data.collection_name).toBe(
      "products",
    );
    const list = await call("GET", "/typesense/sync-jobs?source_client_name=app");
    expect((list.json.data as unknown as { id: string }[]).some((j) => j.id === jobId)).toBe(true);
    const bad = await call("PATCH", `/typesense/sync-jobs/${jobId}`, {
      queryable_fields: ["price"],
    });
    expect(bad.status).toBe(400);
    const ok = await call("PATCH", `/typesense/sync-jobs/${jobId}`, { sync_interval_seconds: 60 });
    expect(ok.json.data.sync_interval_seconds).toBe(60);
    const dup = await call("POST", "/typesense/sync-jobs", job({ collection_name: "products" }));
    expect(dup.status).toBe(409);
  });

  it("status from the view, one and all", async () => {
    const one = await call("GET", `/typesense/sync-jobs/${jobId}/status`);
    expect(one.json.data).toMatchObject({ id: jobId, sync_health: "never_synced", is_stale: true });
    const all = await call("GET", "/typesense/sync-jobs/status?sync_health=never_synced");
    expect((all.json.data as unknown as { id: string }[]).map((x) => x.id)).toContain(jobId);
    expect((await call("GET", "/typesense/sync-jobs/status?sync_health=bogus")).status).toBe(400);
    expect(
      (await call("GET", "/typesense/sync-jobs/00000000-0000-4000-8000-000000000000/status"))
        .status,
    ).toBe(404);
  });

  it("run: 202 with a queued run row; again: the open run; 409 while leased; 404 unknown", async () => {
    const r = await call("POST", `/typesense/sync-jobs/${jobId}/run`);
    expect(r.status).toBe(202);
    const runId = r.json.data.run_id as string;
    const row = await db.pool.query(
      "select status, trigger from typesense_sync_runs where id = $1",
      [runId],
    );
    expect(row.rows[0]).toEqual({ status: "queued", trigger: "manual" });
    const again = await call("POST", `/typesense/sync-jobs/${jobId}/run`);
    expect(again.json.data).toMatchObject({ run_id: runId, disposition: "resumable" });
    await db.pool.query(
      "update typesense_sync_jobs set lease_owner = 'w', lease_expires_at = now() + interval '1 minute' where id = $1",
      [jobId],
    );
    expect((await call("POST", `/typesense/sync-jobs/${jobId}/run`)).status).toBe(409);
    expect((await call("DELETE", `/typesense/sync-jobs/${jobId}`)).status).toBe(409);
    await db.pool.query("update typesense_sync_jobs set lease_expires_at = null where id = $1", [
      jobId,
    ]);
    expect(
      (await call("POST", "/typesense/sync-jobs/00000000-0000-4000-8000-000000000000/run")).status,
    ).toBe(404);
    expect((await call("POST", "/typesense/sync-jobs/junk/run")).status).toBe(404);
  });

  it("runs list and detail with progress", async () => {
    const [run] = (await call("GET", `/typesense/sync-runs?job_id=${jobId}`)).json
      .data as unknown as { id: string }[];
    await db.pool.query(
      `update typesense_sync_runs set progress_total_kind = 'exact', manifest_total_rows = 200,
         manifest_processed_rows = 50 where id = $1`,
      [run!.id],
    );
    const d = await call("GET", `/typesense/sync-runs/${run!.id}`);
    expect(d.json.data.progress).toEqual({
      processed_rows: 50,
      total_rows: 200,
      total_kind: "exact",
      percent: 25,
    });
    expect(
      (await call("GET", "/typesense/sync-runs/00000000-0000-4000-8000-000000000000")).status,
    ).toBe(404);
    expect((await call("GET", "/typesense/sync-runs?limit=0")).status).toBe(400);
  });

  it("backend in use cannot be deleted (409); delete job then backend", async () => {
    const delB = await call("DELETE", `/typesense/backends/${backendId}`);
    expect(delB.status).toBe(409);
    expect((await call("DELETE", `/typesense/sync-jobs/${jobId}`)).status).toBe(200);
    expect((await call("GET", `/typesense/sync-jobs/${jobId}`)).status).toBe(404);
  });
});

describe("cdc streams (read)", () => {
  it("lists rows and 404s unknown clients", async () => {
    await db.pool.query(
      `insert into typesense_cdc_streams (source_client_name, slot_name, publication_name, status, lag_ms)
       values ('app', 'athena_ts_app', 'athena_ts_app', 'streaming', 12)`,
    );
    const l = await call("GET", "/typesense/cdc-streams");
    expect((l.json.data as unknown as unknown[])[0]).toMatchObject({
      source_client_name: "app",
      lag_ms: 12,
    });
    expect((await call("GET", "/typesense/cdc-streams/app")).json.data.status).toBe("streaming");
    expect((await call("GET", "/typesense/cdc-streams/zzz")).status).toBe(404);
  });
});

describe("secrets", () => {
  it("the backend key never appears in a response or a log line", async () => {
    const all = await t.app.request("/typesense/backends", { headers: admin });
    expect(await all.text()).not.toContain(SECRET);
    const text = cap.lines().join("\n");
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("test-admin-key");
  });
});
