import { describe, expect, it } from "vitest";
import { insertJob, insertRun } from "./helpers.js";
import {
  createProducts,
  expectCollectionEqualsTable,
  runRows,
  useEngineFixture,
} from "./support.js";

/*
 * The stages of an attempt as the run-stage machine (src/fullsync/run-stage.ts)
 * walks them against the table: every stage write goes through `next`.
 */

const fx = useEngineFixture({ owner: "test", windowSize: 100 });
const { db, source, ts, engine } = fx;

describe("full-sync attempt stages", () => {
  it("resumes a run killed in windows before its first manifest chunk committed: the manifest is built again", async () => {
    // The windows stage is entered while the manifest's first chunk is still
    // being built; a crash then leaves the run in stage windows with no
    // committed manifest row. The resumed attempt's fresh build re-enters
    // manifest (windows -> manifest) and the run completes.
    await createProducts(source.pool, "p_rebuild", 250);
    const collection = ts.uniqueName("p_rebuild");
    const jobId = await insertJob(db.pool, { collection, table: "p_rebuild" });
    const runId = await insertRun(db.pool, jobId);
    await db.pool.query("update typesense_sync_runs set stage = 'windows' where id = $1", [runId]);

    const res = await engine().runJob(jobId, { trigger: "manual" });

    expect(res).toMatchObject({ runId, status: "succeeded", resumed: true, error: null });
    const [run] = await runRows(db.pool, jobId);
    expect(run).toMatchObject({
      stage: "finished",
      manifest_total_rows: "250",
      next_manifest_seq: "250",
      imported_count: "250",
    });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "p_rebuild");
  });
});
