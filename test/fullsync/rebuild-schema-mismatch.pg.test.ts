import { describe, expect, it } from "vitest";
import { markRebuildRequired } from "../../src/db/repositories/rebuilds.js";
import { insertJob } from "./helpers.js";
import { createProducts, useEngineFixture } from "./support.js";

/*
 * A full sync that finds the live collection's schema differing from the
 * table's (a changed column type) fails naming the field and queues a
 * rebuild with reason schema_mismatch (docs/full-sync.md "Rebuild triggers"),
 * which builds a version with the table's types and swaps it in.
 */

const fx = useEngineFixture({ owner: "test", windowSize: 100 });
const { db, source, ts, engine } = fx;

async function runsOf(jobId: string) {
  const r = await db.pool.query(
    `select trigger, status, rebuild_reason, rebuild_reason_detail, error_message
       from typesense_sync_runs where job_id = $1 order by created_at`,
    [jobId],
  );
  return r.rows;
}

describe("a full sync that finds a changed column type", () => {
  it("fails naming the field, queues a rebuild with reason schema_mismatch, and that rebuild swaps in a version with the table's type", async () => {
    await createProducts(source.pool, "p_mismatch", 20);
    const collection = ts.uniqueName("p_mismatch");
    await fx.backend.createCollection({
      name: collection,
      fields: [{ name: "qty", type: "string" }],
    });
    const jobId = await insertJob(db.pool, { collection, table: "p_mismatch", adopt: true });

    const res = await engine().runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("failed");
    expect(res.error).toMatch(/field "qty" is string in the collection but int32 in the table/);
    expect(res.error).toContain("a rebuild (reason schema_mismatch) is queued");
    expect(res.error).not.toContain("drop or recreate");
    const [failed, queued] = await runsOf(jobId);
    expect(failed).toMatchObject({ trigger: "manual", status: "failed", rebuild_reason: null });
    expect(queued).toMatchObject({
      trigger: "rebuild",
      status: "queued",
      rebuild_reason: "schema_mismatch",
      rebuild_reason_detail: expect.stringContaining(
        'field "qty" is string in the collection but int32 in the table',
      ),
    });

    const rebuilt = await engine().runJob(jobId, { trigger: "schedule" });
    expect(rebuilt.status, rebuilt.error ?? "").toBe("succeeded");
    expect((await fx.backend.getAlias(collection))?.collection_name).toBe(`${collection}__v1`);
    const v1 = await fx.backend.getCollection(`${collection}__v1`);
    expect(v1?.fields.find((f) => f.name === "qty")?.type).toBe("int32");
    expect((await fx.backend.search(collection, { q: "*", query_by: "" })).found).toBe(20);
    // a plain sync afterwards matches: no further rebuild is queued
    expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
    expect((await runsOf(jobId)).map((r) => r.trigger)).toEqual(["manual", "rebuild", "manual"]);
  });

  it("a CDC job's mismatch queues a rebuild too (CDC dual-writes during its build)", async () => {
    await createProducts(source.pool, "p_mismatch_cdc", 5);
    const collection = ts.uniqueName("p_mismatch_cdc");
    await fx.backend.createCollection({
      name: collection,
      fields: [{ name: "qty", type: "string" }],
    });
    const jobId = await insertJob(db.pool, { collection, table: "p_mismatch_cdc", adopt: true });
    await db.pool.query("update typesense_sync_jobs set cdc_enabled = true where id = $1", [jobId]);
    const res = await engine().runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("failed");
    expect(res.error).toContain("a rebuild (reason schema_mismatch) is queued");
    expect(res.error).not.toContain("drop or recreate");
    expect((await runsOf(jobId)).map((r) => [r.trigger, r.rebuild_reason])).toEqual([
      ["manual", null],
      ["rebuild", "schema_mismatch"],
    ]);
  });

  it("while a spec change's rebuild has not swapped, a plain sync never writes the new design into the live version: it fails and queues the rebuild again", async () => {
    await createProducts(source.pool, "p_spec_pending", 30);
    const collection = ts.uniqueName("p_spec_pending");
    const jobId = await insertJob(db.pool, { collection, table: "p_spec_pending" });
    expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
    // as the spec-change PATCH leaves it once its rebuild failed: the new spec stored, the marker set
    await db.pool.query("update typesense_sync_jobs set document = $2 where id = $1", [
      jobId,
      JSON.stringify({ fields: [{ name: "name", column: "name" }] }),
    ]);
    await markRebuildRequired(db.pool, jobId, 'document: field "qty" removed');

    const plain = await engine().runJob(jobId, { trigger: "manual" });
    expect(plain.status).toBe("failed");
    expect(plain.error).toContain("still holds the previous design");
    expect(plain.error).toContain("a rebuild (reason spec_change) is queued");
    const live = await fx.backend.getCollection(collection);
    expect(live?.num_documents).toBe(30);
    expect(live?.fields.map((f) => f.name)).toContain("qty"); // the previous design, untouched
    const queued = (await runsOf(jobId)).at(-1);
    expect(queued).toMatchObject({
      trigger: "rebuild",
      status: "queued",
      rebuild_reason: "spec_change",
    });

    const rebuilt = await engine().runJob(jobId, { trigger: "schedule" });
    expect(rebuilt.status, rebuilt.error ?? "").toBe("succeeded");
    expect((await fx.backend.getAlias(collection))?.collection_name).toBe(`${collection}__v1`);
    const v1 = await fx.backend.getCollection(`${collection}__v1`);
    expect(v1?.num_documents).toBe(30);
    expect(v1?.fields.map((f) => f.name)).not.toContain("qty"); // the new design
    const marker = await db.pool.query(
      "select rebuild_required from typesense_sync_jobs where id = $1",
      [jobId],
    );
    expect(marker.rows[0].rebuild_required).toBeNull();
    expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
  });
});
