import { describe, expect, it } from "vitest";
import { requestAudit, selectAudit } from "../../src/db/repositories/audits.js";
import { createAuditRunner } from "../../src/fullsync/audit-run.js";
import { oracleDocuments, SHOP_DDL, SHOP_SPEC } from "../documents/spec/fixture.js";
import { silentLogger } from "../support/log.js";
import { insertJob } from "./helpers.js";
import { collectionDocuments, useEngineFixture } from "./support.js";

/*
 * The audit of a document-spec job compares the spec's rendering (lookups,
 * children, the filter): a root row outside the filter is not missing, and a
 * document of one in Typesense is extra.
 */
const fx = useEngineFixture({ owner: "test", windowSize: 2 });
const { db, source, ts, engine } = fx;

describe("drift audit of a job with a document spec", () => {
  it("finds a deleted doc, a doc of a filtered-out row and a doc whose lookup changed; repairs them", async () => {
    await source.pool.query(SHOP_DDL);
    const collection = ts.uniqueName("shop_audit");
    const jobId = await insertJob(db.pool, {
      collection,
      table: "products",
      windowSize: 2,
      queryable: ["title"],
    });
    await db.pool.query(
      "update typesense_sync_jobs set document = $2, audit_repair = false where id = $1",
      [jobId, SHOP_SPEC],
    );
    expect((await engine().runJob(jobId, { trigger: "manual" })).error).toBeNull();
    const b = fx.backend;
    await b.deleteDocuments(collection, ["2"]);
    const [one] = [...(await b.getDocuments(collection, ["1"])).values()];
    // product 4 is a draft: outside the spec's filter
    await b.importDocuments(collection, [{ ...one!, id: "4" }], { action: "upsert" });
    // a lookup row changed without a sync: product 1's document is out of date
    await source.pool.query("update brands set name = 'Acme 2' where id = 1");
    const runner = createAuditRunner({
      control: db.pool,
      source: () => source.pool,
      backendFor: async () => b,
      owner: "test",
      log: silentLogger(),
      pageSize: 2,
    });
    const run = async () => {
      const id = (await requestAudit(db.pool, jobId, "manual")) as string;
      await runner.runNext();
      return (await selectAudit(db.pool, id))!;
    };
    expect(await run()).toMatchObject({
      status: "succeeded",
      source_count: "5",
      missing_ids: ["2"],
      extra_ids: ["4"],
      differing_ids: ["1"],
    });
    await db.pool.query("update typesense_sync_jobs set audit_repair = true where id = $1", [
      jobId,
    ]);
    expect(await run()).toMatchObject({
      repaired_missing: "1",
      repaired_extra: "1",
      repaired_differing: "1",
    });
    const sorted = (m: Map<string, unknown>) => [...m].sort(([x], [y]) => Number(x) - Number(y));
    expect(sorted(await collectionDocuments(b, collection))).toEqual(
      sorted(await oracleDocuments(source.pool)),
    );
    expect(await run()).toMatchObject({
      missing_count: "0",
      extra_count: "0",
      differing_count: "0",
    });
  });
});
