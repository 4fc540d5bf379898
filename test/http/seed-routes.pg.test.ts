import { describe, expect, it } from "vitest";
import { backendConnection, createSecretBox } from "../../src/control/index.js";
import { createFullSyncEngine } from "../../src/fullsync/index.js";
import { createTypesenseBackend } from "../../src/typesense/index.js";
import { capturingLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { itEmulatorOnly, useTypesense } from "../support/typesense.js";
import { admin, jsonInit, useSourceDatabase, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const ts = useTypesense();
const src = useSourceDatabase(
  `create table products (id bigint primary key, title text not null, body text,
    category text not null, price numeric)`,
  `insert into products
    select i, case when i % 4 = 0 then 'Blue widget ' || i else 'Gadget ' || i end,
           'body of ' || i, case when i % 2 = 0 then 'tools' else 'toys' end, i * 1.5
      from generate_series(1, 20) i`,
);
const cap = capturingLogger();
const t = useTestApp(db, () => cap.log, { clients: () => ({ app: src.url }) });

/** Every response body seen, checked for secrets at the end. */
const seen: string[] = [];
type J = { status: string; message: string; data: Record<string, unknown>; error?: unknown };
async function call(method: string, path: string, body?: unknown) {
  const res = await t.app.request(
    path,
    body === undefined ? { method, headers: admin } : jsonInit(method, body, admin),
  );
  const text = await res.text();
  seen.push(text);
  return { status: res.status, json: JSON.parse(text) as J };
}

let backendId = "";
let jobId = "";
let collection = "";

describe("seed routes end to end (real sync into the embedded Typesense)", () => {
  it("saves a backend and tests it: saved and unsaved, healthy and not", async () => {
    const b = await call("POST", "/typesense/backends", {
      name: "emu",
      base_url: ts.url,
      api_key: ts.apiKey,
      timeout_ms: 3000,
    });
    expect(b.status).toBe(201);
    backendId = b.json.data.id as string;
    const saved = await call("POST", "/typesense/backends/test", { profile_id: backendId });
    expect(saved.status).toBe(200);
    expect(saved.json.data).toMatchObject({ ok: true });
    expect(typeof saved.json.data.latency_ms).toBe("number");
    const unsaved = await call("POST", "/typesense/backends/test", {
      base_url: ts.url,
      api_key: "x",
    });
    // /health needs no key; the authenticated call tells the wrong key apart
    expect(unsaved.json).toMatchObject({ message: "key refused", data: { ok: false } });
    const dead = await call("POST", "/typesense/backends/test", {
      base_url: "http://127.0.0.1:1",
      api_key: "x",
      timeout_ms: 1000,
    });
    expect(dead.status).toBe(200);
    expect(dead.json).toMatchObject({ message: "backend unreachable", data: { ok: false } });
    expect(typeof dead.json.data.error).toBe("string");
    const missing = await call("POST", "/typesense/backends/test", {
      profile_id: "00000000-0000-4000-8000-000000000000",
    });
    expect(missing.status).toBe(404);
    const neither = await call("POST", "/typesense/backends/test", { api_key: "x" });
    expect(neither.status).toBe(400);
  });

  it("creates a job, queues a run (202) and the full-sync engine runs that very run", async () => {
    collection = ts.uniqueName("products");
    const j = await call("POST", "/typesense/sync-jobs", {
      profile_id: backendId,
      source_client_name: "app",
      source_table_name: "products",
      collection_name: collection,
      document_id_column: "id",
      queryable_fields: ["title", "body"],
    });
    expect(j.status).toBe(201);
    jobId = j.json.data.id as string;
    const run = await call("POST", `/typesense/sync-jobs/${jobId}/run`);
    expect(run.status).toBe(202);
    const box = createSecretBox("");
    const engine = createFullSyncEngine({
      control: db.pool,
      source: (n) => t.pools.source(n),
      backendFor: async (id) => createTypesenseBackend(await backendConnection(db.pool, box, id)),
      owner: "test",
      log: cap.log,
      importMaxAttempts: 2,
      importRetryBaseMs: 10,
      sagaBackupEnabled: true,
      leaseTtlMs: 30_000,
    });
    const result = await engine.runJob(jobId, { trigger: "manual" });
    expect(result).toMatchObject({ runId: run.json.data.run_id, status: "succeeded" });
    const detail = await call("GET", `/typesense/sync-runs/${result.runId}`);
    expect(detail.json.data).toMatchObject({ status: "succeeded" });
    expect(detail.json.data.progress).toMatchObject({
      processed_rows: 20,
      total_kind: "exact",
      percent: 100,
    });
    const status = await call("GET", `/typesense/sync-jobs/${jobId}/status`);
    expect(status.json.data.sync_health).toBe("healthy");
  });

  it("collections/list shows the synced collection; a wrong unsaved key is 400 with Typesense's message", async () => {
    const l = await call("POST", "/typesense/collections/list", { profile_id: backendId });
    expect(l.status).toBe(200);
    const cols = l.json.data.collections as {
      name: string;
      aliases: string[];
      num_documents: number;
    }[];
    // a new job's collection: its live version __v1, listed with the job's alias on it
    const live = cols.find((c) => c.aliases.includes(collection));
    expect(live).toMatchObject({ name: `${collection}__v1`, num_documents: 20 });
    const bad = await call("POST", "/typesense/collections/list", {
      base_url: ts.url,
      api_key: "wrong",
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message.length).toBeGreaterThan(0);
    expect(bad.json.error).toMatchObject({ typesense_status: 401 });
  });

  it("search by job_id and by client + table; query_by defaults to the queryable fields", async () => {
    const byId = await call("POST", "/typesense/search", { job_id: jobId, q: "widget" });
    expect(byId.status).toBe(200);
    const r = byId.json.data.result as { found: number; hits: { document: { title: string } }[] };
    expect(byId.json.data).toMatchObject({ job_id: jobId, collection });
    expect(r.found).toBe(5);
    expect(r.hits.every((h) => h.document.title.includes("widget"))).toBe(true);
    const byTable = await call("POST", "/typesense/search", {
      source_client_name: "app",
      source_table_name: "products",
      q: "widget",
    });
    expect((byTable.json.data.result as { found: number }).found).toBe(5);
    const bodyOnly = await call("POST", "/typesense/search", {
      job_id: jobId,
      q: "of",
      query_by: ["body"],
    });
    expect((bodyOnly.json.data.result as { found: number }).found).toBe(20);
  });

  it("forwards filter_by, sort_by, facet_by, page, per_page, include_fields", async () => {
    const r = await call("POST", "/typesense/search", {
      job_id: jobId,
      q: "*",
      filter_by: "category:=tools",
      sort_by: "price:desc",
      per_page: 3,
      page: 2,
      include_fields: ["title", "price"],
    });
    expect(r.json.message).toBe("found 10");
    const res = r.json.data.result as {
      found: number;
      page: number;
      hits: { document: Record<string, unknown> }[];
    };
    expect(res.found).toBe(10);
    expect(res.page).toBe(2);
    expect(res.hits).toHaveLength(3);
    // tools = even ids; by price desc page 2 starts at the 4th: id 14
    expect(res.hits.map((h) => h.document.title)).toEqual([
      "Gadget 14",
      "Blue widget 12",
      "Gadget 10",
    ]);
    expect(Object.keys(res.hits[0]!.document).sort()).toEqual(["price", "title"]);
    // facet_by reaches Typesense: the job's fields are not facets, so Typesense refuses
    const facet = await call("POST", "/typesense/search", { job_id: jobId, facet_by: "category" });
    expect(facet.status).toBe(400);
    expect(facet.json.message).toMatch(/facet field named `category`/);
  });

  it("Typesense 4xx -> 400 with Typesense's message", async () => {
    const r = await call("POST", "/typesense/search", {
      job_id: jobId,
      q: "x",
      filter_by: "nope:=1",
    });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/nope/);
    const q = await call("POST", "/typesense/search", { job_id: jobId, q: "x", query_by: "ghost" });
    expect(q.status).toBe(400);
  });

  it("404 without an enabled job, 409 when ambiguous, 400 when the target is missing", async () => {
    expect(
      (
        await call("POST", "/typesense/search", {
          source_client_name: "app",
          source_table_name: "nope",
          q: "x",
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await call("POST", "/typesense/search", {
          source_client_name: "app",
          source_schema_name: "other",
          source_table_name: "products",
          q: "x",
        })
      ).status,
    ).toBe(404);
    expect(
      (await call("POST", "/typesense/search", { job_id: "00000000-0000-4000-8000-000000000000" }))
        .status,
    ).toBe(404);
    expect((await call("POST", "/typesense/search", { q: "x" })).status).toBe(400);
    const second = await call("POST", "/typesense/sync-jobs", {
      profile_id: backendId,
      source_client_name: "app",
      source_table_name: "products",
      collection_name: ts.uniqueName("products2"),
      document_id_column: "id",
      queryable_fields: ["title"],
    });
    const amb = await call("POST", "/typesense/search", {
      source_client_name: "app",
      source_table_name: "products",
      q: "x",
    });
    expect(amb.status).toBe(409);
    expect(amb.json.message).toContain("job_id");
    await call("PATCH", `/typesense/sync-jobs/${second.json.data.id}`, { enabled: false });
    expect(
      (
        await call("POST", "/typesense/search", {
          source_client_name: "app",
          source_table_name: "products",
          q: "x",
        })
      ).status,
    ).toBe(200);
    expect(
      (await call("POST", "/typesense/search", { job_id: second.json.data.id, q: "x" })).status,
    ).toBe(404);
  });

  itEmulatorOnly("Typesense down -> 503, slow -> 504", async () => {
    await ts.emulator!.faults.goDown();
    try {
      const down = await call("POST", "/typesense/search", { job_id: jobId, q: "x" });
      expect(down.status).toBe(503);
      expect(down.json.message).toBe("Typesense unavailable");
    } finally {
      await ts.emulator!.faults.comeBack();
    }
    ts.emulator!.faults.failNext({
      path: /\/search/,
      status: 503,
      body: { message: "Not Ready or Lagging" },
    });
    expect((await call("POST", "/typesense/search", { job_id: jobId, q: "x" })).status).toBe(503);
    await call("PATCH", `/typesense/backends/${backendId}`, { timeout_ms: 200 });
    ts.emulator!.faults.addLatency({ path: /\/search/, ms: 1500, times: 1 });
    const slow = await call("POST", "/typesense/search", { job_id: jobId, q: "x" });
    expect(slow.status).toBe(504);
    await call("PATCH", `/typesense/backends/${backendId}`, { timeout_ms: 3000 });
    expect((await call("POST", "/typesense/search", { job_id: jobId, q: "x" })).status).toBe(200);
  });
});

describe("secrets", () => {
  it("the Typesense API key is in no response and no log line", () => {
    expect(seen.length).toBeGreaterThan(20);
    for (const s of seen) expect(s).not.toContain(ts.apiKey);
    const logs = cap.lines().join("\n");
    expect(logs).not.toContain(ts.apiKey);
  });
});
