import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { backendFor, docsOf, waitFor } from "../cdc/helpers.js";
import { useTestDatabase } from "../support/pg.js";
import { useServe } from "../support/serve.js";
import { useTypesense } from "../support/typesense.js";

// An additive spec change of a live job, through a real `serve` (full sync,
// CDC; control and source are the same database, logical replication on it)
// and the embedded Typesense.
const db = useTestDatabase();
const ts = useTypesense();
const serve = useServe(db, { clients: () => ({ dc_cdc: db.url, dc_plain: db.url }) });
let backend: TypesenseBackend;
let profileId = "";

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
  await db.pool.query("create table dc_items (id int primary key, title text not null, v int)");
  await db.pool.query(
    "insert into dc_items select g, 'item ' || g, g from generate_series(1, 20) g",
  );
  const b = await serve.call("POST", "/typesense/backends", {
    name: "emu",
    base_url: ts.url,
    api_key: ts.apiKey,
  });
  profileId = b.json.data.id as string;
});
afterAll(async () => {
  await backend.close();
});

const runsOf = async (jobId: string) =>
  (
    await db.pool.query<{ trigger: string; status: string }>(
      "select trigger, status from typesense_sync_runs where job_id = $1 order by created_at",
      [jobId],
    )
  ).rows;

describe("an additive spec change of a live job", () => {
  it("adds the field to the live collection and its full run fills it", async () => {
    const collection = ts.uniqueName("dc_plain");
    const title = { name: "title", column: "title" };
    const j = await serve.call("POST", "/typesense/sync-jobs", {
      profile_id: profileId,
      source_client_name: "dc_plain",
      source_table_name: "dc_items",
      collection_name: collection,
      document_id_column: "id",
      queryable_fields: ["title"],
      sync_interval_seconds: 86_400,
      document: { fields: [title] },
    });
    expect(j.status, JSON.stringify(j.json)).toBe(201);
    const jobId = j.json.data.id as string;
    expect((await serve.call("POST", `/typesense/sync-jobs/${jobId}/run`)).status).toBe(202);
    await waitFor("the first run", async () => (await runsOf(jobId))[0]?.status === "succeeded");
    expect((await docsOf(backend, collection)).get("3")).toEqual({ id: "3", title: "item 3" });
    const p = await serve.call("PATCH", `/typesense/sync-jobs/${jobId}`, {
      document: { fields: [title, { name: "v_doubled", sql: "v * 2" }] },
    });
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json.data.resync_queued).toBe(true);
    await waitFor("the resync", async () => (await runsOf(jobId))[1]?.status === "succeeded");
    const schema = await backend.getCollection(collection);
    expect(schema?.fields.map((f) => f.name)).toContain("v_doubled");
    const docs = await docsOf(backend, collection);
    expect(docs.size).toBe(20);
    expect(docs.get("3")).toEqual({ id: "3", title: "item 3", v_doubled: 6 });
  }, 120_000);

  it("makes the stream re-join the job, which queues its watermarked resync", async () => {
    const title = { name: "title", column: "title" };
    const j = await serve.call("POST", "/typesense/sync-jobs", {
      profile_id: profileId,
      source_client_name: "dc_cdc",
      source_table_name: "dc_items",
      collection_name: ts.uniqueName("dc_items"),
      document_id_column: "id",
      queryable_fields: ["title"],
      sync_interval_seconds: 86_400,
      cdc_enabled: true,
      document: { fields: [title] },
    });
    expect(j.status, JSON.stringify(j.json)).toBe(201);
    const jobId = j.json.data.id as string;
    await waitFor(
      "the join resync",
      async () => (await runsOf(jobId))[0]?.status === "succeeded",
      90_000,
    );
    const p = await serve.call("PATCH", `/typesense/sync-jobs/${jobId}`, {
      document: { fields: [title, { name: "v", column: "v" }] },
    });
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json.data.resync_queued).toBe(true);
    expect(p.json.message).toMatch(/document changed: the CDC stream re-joins the job/);
    // the stream sees the new spec (its job signature changed), sets up again
    // and, the job joining anew, requests its resync
    await waitFor("the re-join resync", async () => (await runsOf(jobId)).length === 2, 60_000);
    expect((await runsOf(jobId)).map((r) => r.trigger)).toEqual(["resync", "resync"]);
  }, 180_000);
});
