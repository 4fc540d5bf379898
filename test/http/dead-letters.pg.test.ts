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

  it("retry re-sends the payload: rejected again stays open (attempts + 1), accepted resolves", async () => {
    const bad = await letter("upsert", "900", { id: "900", title: 42, category: "x" });
    const r1 = await f.call("POST", `/typesense/dead-letters/${bad}/retry`);
    expect(r1.status).toBe(400);
    expect(r1.json.message).toMatch(/rejected the document again/);
    const after = await f.call("GET", `/typesense/dead-letters/${bad}`);
    expect(after.json.data).toMatchObject({ status: "open", attempts: 2 });

    const good = await letter("upsert", "901", {
      id: "901",
      title: "Recovered widget",
      category: "toys",
      price: 1,
    });
    const r2 = await f.call("POST", `/typesense/dead-letters/${good}/retry`);
    expect(r2.status).toBe(200);
    expect(r2.json.data.status).toBe("resolved");
    const doc = await ts.client.collections(f.collection).documents("901").retrieve();
    expect(doc).toMatchObject({ title: "Recovered widget" });
    expect((await f.call("POST", `/typesense/dead-letters/${good}/retry`)).status).toBe(409);
  });

  it("a delete letter deletes the document", async () => {
    const del = await letter("delete", "901", null);
    const r = await f.call("POST", `/typesense/dead-letters/${del}/retry`);
    expect({ s: r.status, m: r.json.message, e: r.json.error }).toMatchObject({ s: 200 });
    await expect(ts.client.collections(f.collection).documents("901").retrieve()).rejects.toThrow();
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

  it("discard closes an open letter; list filters by job and status; unknown 404", async () => {
    const l = await letter("upsert", "902", { id: "902", title: "x", category: "y" });
    const d = await f.call("POST", `/typesense/dead-letters/${l}/discard`);
    expect(d.json.data.status).toBe("discarded");
    expect((await f.call("POST", `/typesense/dead-letters/${l}/discard`)).status).toBe(409);
    const open = await f.call("GET", `/typesense/dead-letters?job_id=${f.jobId}&status=open`);
    expect((open.json.data as unknown as { doc_id: string }[]).map((x) => x.doc_id)).toEqual([
      "900",
    ]);
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
