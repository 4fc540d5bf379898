import { expect } from "vitest";
import { describeEmulatorOnly, itEmulatorOnly } from "../support/typesense.js";
import { insertJob } from "./helpers.js";
import { collectionDocuments, createProducts, runRows, useEngineFixture } from "./support.js";

const fx = useEngineFixture({ owner: "test", windowSize: 100 });
const { db, source, ts, engine } = fx;

const ATTEMPTS = 3;

/**
 * A synced table, then changes the next run will write: every even row edited,
 * rows 50 and 550 deleted (their docs exist), rows 0 and -1 new (docs created).
 */
async function syncedThenChanged(table: string) {
  await createProducts(source.pool, table, 1000);
  const collection = ts.uniqueName(table);
  const jobId = await insertJob(db.pool, { collection, table });
  expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
  await source.pool.query(`update ${table} set name = name || ' v2' where id % 2 = 0`);
  await source.pool.query(`delete from ${table} where id in (50, 550)`);
  await source.pool.query(
    `insert into ${table} (id, name) values (0, 'new zero'), (-1, 'new minus one')`,
  );
  return { jobId, collection, before: await collectionDocuments(fx.backend, collection) };
}

/** Exhausts the import retry budget of the window after seq 500. */
const failAfter500 = (w: { toSeq: number }) => {
  if (w.toSeq !== 500) return;
  fx.failNextImports(ATTEMPTS);
};

async function sagaRecords(runId: string) {
  const b = await db.pool.query<{ n: number }>(
    "select count(*)::int n from typesense_sync_run_backups where run_id = $1",
    [runId],
  );
  const m = await db.pool.query<{ upto: string }>(
    "select upto_seq::text upto from typesense_sync_run_created_ranges where run_id = $1",
    [runId],
  );
  return { backups: b.rows[0]!.n, createdUpto: m.rows[0] ? Number(m.rows[0].upto) : null };
}

describeEmulatorOnly("saga rollback", () => {
  itEmulatorOnly(
    "a first sync stores one created-range marker instead of a backup per document",
    async () => {
      await createProducts(source.pool, "s_first_ok", 1000);
      const collection = ts.uniqueName("s_first_ok");
      const jobId = await insertJob(db.pool, { collection, table: "s_first_ok" });
      const res = await engine().runJob(jobId, { trigger: "manual" });
      expect(res.status).toBe("succeeded");
      expect(await sagaRecords(res.runId)).toEqual({ backups: 0, createdUpto: 1000 });
      expect((await collectionDocuments(fx.backend, collection)).size).toBe(1000);
    },
  );

  itEmulatorOnly(
    "a failed first sync rolls back to the empty collection through the marker",
    async () => {
      await createProducts(source.pool, "s_first", 1000);
      const collection = ts.uniqueName("s_first");
      const jobId = await insertJob(db.pool, { collection, table: "s_first" });
      const res = await engine({ onWindowCommitted: failAfter500 }).runJob(jobId, {
        trigger: "manual",
      });
      expect(res.status).toBe("failed");
      // windows 0-4 imported, window 5 covered before its failed import: seqs 0..599
      expect(res.rollback).toMatchObject({ status: "succeeded", restored: 0, deleted: 600 });
      expect((await collectionDocuments(fx.backend, collection)).size).toBe(0);
      expect(await sagaRecords(res.runId)).toEqual({ backups: 0, createdUpto: 0 });
      const [run] = await runRows(db.pool, jobId);
      expect(run).toMatchObject({
        status: "failed",
        next_manifest_seq: "500",
        rollback_status: "succeeded",
        rollback_restored_count: "0",
        rollback_deleted_count: "600",
      });
    },
  );

  itEmulatorOnly(
    "rolls the whole run back when retries are exhausted: collection equals its pre-run state",
    async () => {
      const { jobId, collection, before } = await syncedThenChanged("s_on");
      const res = await engine({ onWindowCommitted: failAfter500 }).runJob(jobId, {
        trigger: "manual",
      });
      expect(res.status).toBe("failed");
      expect(res.error).toMatch(/import failed after 3 attempt\(s\)/);
      expect(res.rollback?.status).toBe("succeeded");

      const after = await collectionDocuments(fx.backend, collection);
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      for (const [id, doc] of before) expect(after.get(id), `doc ${id}`).toEqual(doc);

      const backups = await db.pool.query<{ existed: boolean; n: number; restored: number }>(
        `select pre_image is not null existed, count(*)::int n, count(*) filter (where restored)::int restored
         from typesense_sync_run_backups where run_id = $1 group by 1 order by 1`,
        [res.runId],
      );
      // created docs: ids 0 and -1; pre-existing: edited rows of 6 windows + deleted row 50
      expect(backups.rows).toEqual([
        { existed: false, n: 2, restored: 2 },
        { existed: true, n: expect.any(Number), restored: expect.any(Number) },
      ]);
      const existed = backups.rows[1]!;
      expect(existed.restored).toBe(existed.n);
      expect(existed.n).toBeGreaterThan(250);
      const [, run] = await runRows(db.pool, jobId);
      expect(run).toMatchObject({
        status: "failed",
        stage: "finished",
        retry_attempt_count: ATTEMPTS - 1,
        next_manifest_seq: "500",
        rollback_attempted: true,
        rollback_status: "succeeded",
        rollback_restored_count: String(existed.n),
        rollback_deleted_count: "2",
        rollback_error_message: null,
      });
      expect(run!.error_message).toMatch(/failed after 3 attempt/);
      const j = await db.pool.query("select * from typesense_sync_jobs where id = $1", [jobId]);
      expect(j.rows[0]).toMatchObject({ last_sync_status: "failed", lease_token: null });
      expect(j.rows[0].last_sync_error).toMatch(/rolled back: \d+ restored, 2 deleted/);
    },
  );

  itEmulatorOnly(
    "with the saga disabled, a failed run stops and reports without compensation",
    async () => {
      const { jobId, collection } = await syncedThenChanged("s_off");
      const res = await engine({
        sagaBackupEnabled: false,
        onWindowCommitted: failAfter500,
      }).runJob(jobId, { trigger: "manual" });
      expect(res.status).toBe("failed");
      expect(res.rollback).toBeNull();
      const [, run] = await runRows(db.pool, jobId);
      expect(run).toMatchObject({
        status: "failed",
        rollback_attempted: false,
        rollback_status: "not_needed",
        next_manifest_seq: "500",
      });
      const n = await db.pool.query(
        "select count(*)::int n from typesense_sync_run_backups where run_id = $1",
        [res.runId],
      );
      expect(n.rows[0].n).toBe(0);
      // the windows before the failure stay applied
      const after = await collectionDocuments(fx.backend, collection);
      expect(after.get("2")?.name).toBe("product 2 v2");
      expect(after.get("0")?.name).toBe("new zero");
      expect(after.get("998")?.name).toBe("product 998");
    },
  );
});
