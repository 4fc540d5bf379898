import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { backendFor, docsOf, waitFor } from "../cdc/helpers.js";
import { expectCollectionEqualsTable } from "../fullsync/support.js";
import { useTestDatabase } from "../support/pg.js";
import { useServe } from "../support/serve.js";
import { useTypesense } from "../support/typesense.js";

// Control and source are the same database (logical replication on it).
const db = useTestDatabase();
const ts = useTypesense();
const serve = useServe(db, { clients: () => ({ rt_cdc: db.url, rt_plain: db.url }) });
let backend: TypesenseBackend;
let profileId: string;

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
  for (const t of ["rt_items_cdc", "rt_items_plain"]) {
    await db.pool.query(`create table ${t} (id int primary key, title text not null, v int)`);
    await db.pool.query(`insert into ${t} select g, 'item ' || g, g from generate_series(1, 50) g`);
  }
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

async function createJob(client: string, table: string, collection: string, cdc: boolean) {
  const j = await serve.call("POST", "/typesense/sync-jobs", {
    profile_id: profileId,
    source_client_name: client,
    source_table_name: table,
    collection_name: collection,
    document_id_column: "id",
    queryable_fields: ["title"],
    sync_interval_seconds: 86_400,
    cdc_enabled: cdc,
  });
  expect(j.status, JSON.stringify(j.json)).toBe(201);
  return j.json.data.id as string;
}

const count = async (collection: string) => (await docsOf(backend, collection)).size;
const runsOf = async (jobId: string) =>
  (
    await db.pool.query<{ id: string; trigger: string; status: string }>(
      "select id, trigger, status from typesense_sync_runs where job_id = $1 order by created_at",
      [jobId],
    )
  ).rows;

describe("retargeting a job resyncs it", () => {
  it("a CDC job moved to a new collection shows all 50 rows there; the old collection is left as it was", async () => {
    const oldCollection = ts.uniqueName("rt_old");
    const jobId = await createJob("rt_cdc", "rt_items_cdc", oldCollection, true);
    // joining the stream resyncs the job into its first collection
    await waitFor(
      "the join resync",
      async () => (await runsOf(jobId))[0]?.status === "succeeded",
      90_000,
    );
    expect(await count(oldCollection)).toBe(50);
    const newCollection = ts.uniqueName("rt_new");
    const p = await serve.call("PATCH", `/typesense/sync-jobs/${jobId}`, {
      collection_name: newCollection,
    });
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json.data).toMatchObject({ collection_name: newCollection, resync_queued: true });
    expect(p.json.message).toMatch(/collection_name changed/);
    expect(p.json.message).toMatch(/old collection is left as it was/);
    await waitFor(
      "the resync of the new target",
      async () => (await runsOf(jobId)).filter((r) => r.status === "succeeded").length === 2,
      60_000,
    );
    expect(await count(newCollection)).toBe(50);
    // from then on the stream writes the new collection only
    await db.pool.query("update rt_items_cdc set title = 'changed after the move' where id = 7");
    await waitFor("the streamed change", async () => {
      return (await docsOf(backend, newCollection)).get("7")?.title === "changed after the move";
    });
    await expectCollectionEqualsTable(backend, newCollection, db.pool, "rt_items_cdc");
    const old = await docsOf(backend, oldCollection);
    expect(old.size).toBe(50);
    expect(old.get("7")?.title).toBe("item 7");
    expect((await runsOf(jobId)).map((r) => [r.trigger, r.status])).toEqual([
      ["resync", "succeeded"],
      ["resync", "succeeded"],
    ]);
  }, 180_000);

  it("a job without CDC retargeted gets a run queued and executed", async () => {
    const oldCollection = ts.uniqueName("rt_plain_old");
    const jobId = await createJob("rt_plain", "rt_items_plain", oldCollection, false);
    const first = await serve.call("POST", `/typesense/sync-jobs/${jobId}/run`);
    expect(first.status).toBe(202);
    await waitFor("the first run", async () => (await runsOf(jobId))[0]?.status === "succeeded");
    const newCollection = ts.uniqueName("rt_plain_new");
    const p = await serve.call("PATCH", `/typesense/sync-jobs/${jobId}`, {
      collection_name: newCollection,
      included_columns: ["id", "title"],
    });
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    const runId = p.json.data.resync_run_id as string;
    expect(p.json.data.resync_queued).toBe(true);
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor("the resync run", async () => {
      return (await runsOf(jobId)).find((r) => r.id === runId)?.status === "succeeded";
    });
    const docs = await docsOf(backend, newCollection);
    expect(docs.size).toBe(50);
    // the new shape: only the included columns
    expect(docs.get("3")).toEqual({ id: "3", title: "item 3" });
    expect((await docsOf(backend, oldCollection)).get("3")).toMatchObject({ v: 3 });
  }, 120_000);

  it("a retarget is refused (409) while a run holds the lease; other edits are not", async () => {
    const jobId = await createJob("rt_plain", "rt_items_plain", ts.uniqueName("rt_leased"), false);
    await db.pool.query(
      `update typesense_sync_jobs set lease_owner = 'elsewhere', lease_token = gen_random_uuid(),
              lease_expires_at = now() + interval '1 hour' where id = $1`,
      [jobId],
    );
    const p = await serve.call("PATCH", `/typesense/sync-jobs/${jobId}`, {
      collection_name: ts.uniqueName("rt_leased_new"),
    });
    expect(p.status).toBe(409);
    expect(p.json.message).toMatch(/is running; change its target/);
    const ok = await serve.call("PATCH", `/typesense/sync-jobs/${jobId}`, {
      sync_interval_seconds: 600,
    });
    expect(ok.status).toBe(200);
    expect(ok.json.data.resync_queued).toBeUndefined();
  });
});
