import { describe, expect, it } from "vitest";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { useSyncedJob } from "./synced-job.js";

/*
 * Issue 16 point 1: a job created now starts at v1. Its first run creates
 * `<collection_name>__v1` (with the job's mark, version and spec hash) and the
 * alias `<collection_name>` -> `__v1`; every later write and search goes
 * through the alias. useSyncedJob creates the job through the API and syncs it
 * with the real engine.
 */
const db = useTestDatabase();
const ts = useTypesense();
const f = useSyncedJob(db, ts, silentLogger);

async function liveVersion(): Promise<number | null> {
  const r = await db.pool.query("select live_version from typesense_sync_jobs where id = $1", [
    f.jobId,
  ]);
  return r.rows[0].live_version as number | null;
}

describe("a new job starts at v1 behind its alias", () => {
  it("the first run created __v1 with the version metadata and the alias onto it", async () => {
    expect(await liveVersion()).toBe(1);
    expect((await ts.client.aliases(f.collection).retrieve()).collection_name).toBe(
      `${f.collection}__v1`,
    );
    const v1 = await ts.client.collections(`${f.collection}__v1`).retrieve();
    expect(v1.num_documents).toBe(20);
    expect((v1 as { metadata?: unknown }).metadata).toMatchObject({
      managed_by: "athena-typesense-sync",
      job_id: f.jobId,
      version: 1,
    });
    // no plain collection of the job's name: only the alias holds it
    const names = (await ts.client.collections().retrieve()).map((c) => c.name);
    expect(names).not.toContain(f.collection);
  });

  it("searches through the alias (the sidecar's route) and a second run writes __v1 through it", async () => {
    const s = await f.call("POST", "/typesense/search", { job_id: f.jobId, q: "*" });
    expect(s.status).toBe(200);
    expect((s.json.data.result as { found: number }).found).toBe(20);
    const r = await f.engine.runJob(f.jobId, { trigger: "manual" });
    expect(r.status).toBe("succeeded");
    const names = (await ts.client.collections().retrieve()).map((c) => c.name);
    expect(names.filter((n) => n.startsWith(f.collection))).toEqual([`${f.collection}__v1`]);
  });

  it("collections/list shows __v1 with the job's alias on it, also to a key bound to the job's client", async () => {
    const k = await f.call("POST", "/admin/api-keys", {
      name: "bound",
      client_name: "app",
      rights: ["gateway.typesense_proxy"],
    });
    expect(k.status).toBe(201);
    const bound = {
      "X-Athena-Key": k.json.data.api_key as string,
      "X-Athena-Client": "app",
      "content-type": "application/json",
    };
    const res = await f.t.app.request("/typesense/collections/list", {
      method: "POST",
      headers: bound,
      body: JSON.stringify({ profile_id: f.backendId }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      data: { collections: { name: string; aliases: string[] }[] };
    };
    expect(body.data.collections.map((c) => [c.name, c.aliases])).toEqual([
      [`${f.collection}__v1`, [f.collection]],
    ]);
  });

  it("a dangling alias (its version deleted) is pointed at a recreated __v1, never shadowed by a plain collection", async () => {
    await ts.client.collections(`${f.collection}__v1`).delete();
    const r = await f.engine.runJob(f.jobId, { trigger: "manual" });
    expect(r).toMatchObject({ status: "succeeded", error: null });
    expect((await ts.client.aliases(f.collection).retrieve()).collection_name).toBe(
      `${f.collection}__v1`,
    );
    expect((await ts.client.collections(`${f.collection}__v1`).retrieve()).num_documents).toBe(20);
    const names = (await ts.client.collections().retrieve()).map((c) => c.name);
    expect(names).not.toContain(f.collection);
  });

  it("a collection holding the alias's name fails the run naming it, and is never deleted", async () => {
    await ts.client.aliases(f.collection).delete();
    await ts.client.collections().create({
      name: f.collection,
      fields: [{ name: "title", type: "string" }],
    });
    await ts.client.collections(f.collection).documents().create({ id: "x", title: "foreign" });
    const r = await f.engine.runJob(f.jobId, { trigger: "manual" });
    expect(r.status).toBe("failed");
    expect(r.error).toContain(`collection "${f.collection}" exists as a collection`);
    expect((await ts.client.collections(f.collection).retrieve()).num_documents).toBe(1);
  });

  it("a new job whose name already holds its OWN plain collection (as CDC creates one before the first run) keeps it plain", async () => {
    const name = ts.uniqueName("cdcmade");
    const j = await f.call("POST", "/typesense/sync-jobs", {
      profile_id: f.backendId,
      source_client_name: "app",
      source_table_name: "products",
      collection_name: name,
      document_id_column: "id",
      queryable_fields: ["title", "body"],
    });
    expect(j.status).toBe(201);
    const id = j.json.data.id as string;
    await ts.client.collections().create({
      name,
      fields: [{ name: "title", type: "string" }],
      metadata: { managed_by: "athena-typesense-sync", job_id: id },
    } as never);
    const r = await f.engine.runJob(id, { trigger: "manual" });
    expect(r).toMatchObject({ status: "succeeded", error: null });
    const row = await db.pool.query("select live_version from typesense_sync_jobs where id = $1", [
      id,
    ]);
    expect(row.rows[0].live_version).toBeNull();
    const c = await ts.client.collections(name).retrieve();
    expect([c.name, c.num_documents]).toEqual([name, 20]);
    await expect(ts.client.aliases(name).retrieve()).rejects.toThrow();
  });

  it("a job created to adopt an existing collection keeps it plain (live_version null, no alias)", async () => {
    const existing = ts.uniqueName("adopted");
    await ts.client.collections().create({
      name: existing,
      fields: [{ name: "title", type: "string" }],
    });
    const j = await f.call("POST", "/typesense/sync-jobs", {
      profile_id: f.backendId,
      source_client_name: "app",
      source_table_name: "products",
      collection_name: existing,
      document_id_column: "id",
      queryable_fields: ["title", "body"],
      adopt_existing_collection: true,
    });
    expect(j.status).toBe(201);
    const id = j.json.data.id as string;
    const row = await db.pool.query("select live_version from typesense_sync_jobs where id = $1", [
      id,
    ]);
    expect(row.rows[0].live_version).toBeNull();
    const r = await f.engine.runJob(id, { trigger: "manual" });
    expect(r.status).toBe("succeeded");
    const c = await ts.client.collections(existing).retrieve();
    expect(c.name).toBe(existing);
    expect(c.num_documents).toBe(20);
    await expect(ts.client.aliases(existing).retrieve()).rejects.toThrow();
  });
});
