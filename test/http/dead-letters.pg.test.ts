import { describe, expect, it } from "vitest";
import { capturingLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { useSyncedJob } from "./synced-job.js";

const db = useTestDatabase();
const ts = useTypesense();
const cap = capturingLogger();
const f = useSyncedJob(db, ts, () => cap.log);

describe("dead letters", () => {
  const letter = async (operation: string, docId: string, payload: unknown) => {
    const r = await db.pool.query<{ id: string }>(
      `insert into typesense_dead_letters (job_id, origin, doc_id, operation, payload, error_code, error_message)
       values ($1, 'cdc', $2, $3, $4, 400, 'rejected') returning id`,
      [f.jobId, docId, operation, payload === null ? null : JSON.stringify(payload)],
    );
    return r.rows[0]!.id;
  };

  it("retry of a row updated after the dead letter writes the row's current version, not the stored payload", async () => {
    const stale = await letter("upsert", "5", { id: "5", title: 42, category: "x" });
    const src = f.t.pools.source("app");
    await src.query("update products set title = 'Updated after the letter' where id = 5");
    const r = await f.call("POST", `/typesense/dead-letters/${stale}/retry`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.data.status).toBe("resolved");
    expect(r.json.message).toMatch(/current document was written/);
    const doc = await ts.client.collections(f.collection).documents("5").retrieve();
    expect(doc).toMatchObject({ title: "Updated after the letter", category: "toys" });
    expect((await f.call("POST", `/typesense/dead-letters/${stale}/retry`)).status).toBe(409);
  });

  it("a retry deletes the content hash that claimed the doc (docs/full-sync.md)", async () => {
    // a claim by any collection of the job: the retry writes a doc no hash vouches for
    await db.pool.query(
      `insert into typesense_sync_doc_hashes (job_id, collection, doc_id, hash)
       values ($1, $2, '6', decode(md5('old'), 'hex'))
       on conflict (job_id, collection, doc_id) do update set hash = excluded.hash`,
      [f.jobId, f.collection],
    );
    const l = await letter("upsert", "6", { id: "6" });
    expect((await f.call("POST", `/typesense/dead-letters/${l}/retry`)).status).toBe(200);
    const left = await db.pool.query(
      "select 1 from typesense_sync_doc_hashes where job_id = $1 and doc_id = '6'",
      [f.jobId],
    );
    expect(left.rowCount).toBe(0);
  });

  it("retry of a row deleted since deletes the document and resolves the letter", async () => {
    const l = await letter("upsert", "6", { id: "6", title: "old", category: "tools" });
    await f.t.pools.source("app").query("delete from products where id = 6");
    const r = await f.call("POST", `/typesense/dead-letters/${l}/retry`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.data.status).toBe("resolved");
    expect(r.json.message).toMatch(/row is gone/);
    await expect(ts.client.collections(f.collection).documents("6").retrieve()).rejects.toThrow();
  });

  it("a letter about rows without a document id is 409 on retry and sends nothing", async () => {
    const before = (await ts.client.collections(f.collection).retrieve()).num_documents;
    const agg = await db.pool.query<{ id: string }>(
      `insert into typesense_dead_letters (job_id, origin, doc_id, operation, payload, error_message)
       values ($1, 'cdc', null, 'upsert', '{"count": 3, "sample_keys": ["pk=1"]}',
               'the row carries no document id') returning id`,
      [f.jobId],
    );
    const r = await f.call("POST", `/typesense/dead-letters/${agg.rows[0]!.id}/retry`);
    expect(r.status).toBe(409);
    expect(r.json.message).toMatch(/without a document id/);
    expect((await ts.client.collections(f.collection).retrieve()).num_documents).toBe(before);
    const d = await f.call("POST", `/typesense/dead-letters/${agg.rows[0]!.id}/discard`);
    expect(d.status).toBe(200);
  });

  it("retry never writes into a collection that replaced the job's own without its mark", async () => {
    const l = await letter("upsert", "7", { id: "7", title: "old", category: "tools" });
    const col = ts.client.collections(f.collection);
    const schema = await col.retrieve();
    await col.delete();
    // hand-made, same name, no sidecar metadata: not the job's to write
    await ts.client.collections().create({
      name: f.collection,
      fields: [{ name: ".*", type: "auto" }],
    });
    await ts.client.collections(f.collection).documents().create({ id: "own", mine: "yes" });
    const before = await ts.client.collections(f.collection).retrieve();
    try {
      const r = await f.call("POST", `/typesense/dead-letters/${l}/retry`);
      expect(r.status, JSON.stringify(r.json)).toBe(409);
      expect(r.json.code).toBe("COLLECTION_NOT_OWNED");
      expect(r.json.message).toMatch(/adopt_existing_collection/);
      const after = await ts.client.collections(f.collection).retrieve();
      expect(after.num_documents).toBe(1);
      expect(after.fields).toEqual(before.fields);
      expect((await f.call("GET", `/typesense/dead-letters/${l}`)).json.data.status).toBe("open");
    } finally {
      // leave no open letter and the job's own collection for the tests after this one
      await f.call("POST", `/typesense/dead-letters/${l}/discard`);
      await ts.client.collections(f.collection).delete();
      await ts.client.collections().create({
        name: f.collection,
        fields: schema.fields ?? [],
        metadata: schema.metadata,
      });
    }
  });

  it("discard closes an open letter; list filters by job and status; unknown 404", async () => {
    const l = await letter("upsert", "902", { id: "902", title: "x", category: "y" });
    const d = await f.call("POST", `/typesense/dead-letters/${l}/discard`);
    expect(d.json.data.status).toBe("discarded");
    expect((await f.call("POST", `/typesense/dead-letters/${l}/discard`)).status).toBe(409);
    const kept = await letter("upsert", "903", { id: "903", title: "x", category: "y" });
    const open = await f.call("GET", `/typesense/dead-letters?job_id=${f.jobId}&status=open`);
    expect((open.json.data as unknown as { id: string }[]).map((x) => x.id)).toEqual([kept]);
    expect(
      (await f.call("POST", "/typesense/dead-letters/00000000-0000-4000-8000-000000000000/retry"))
        .status,
    ).toBe(404);
  });
});

describe("secrets", () => {
  it("the Typesense API key is in no response and no log line", () => {
    expect(f.seen.length).toBeGreaterThan(5);
    for (const s of f.seen) expect(s).not.toContain(ts.apiKey);
    expect(cap.lines().join("\n")).not.toContain(ts.apiKey);
  });
});
