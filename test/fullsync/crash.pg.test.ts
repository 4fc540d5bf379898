import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "vitest";
import { describeEmulatorOnly, itEmulatorOnly } from "../support/typesense.js";
import { steppingChild } from "./child.js";
import { insertJob } from "./helpers.js";
import {
  collectionDocuments,
  createProducts,
  expectCollectionEqualsTable,
  runRows,
  useEngineFixture,
} from "./support.js";

const fx = useEngineFixture({ owner: "parent" });
const { db, source, ts, engine } = fx;

function childFor(jobId: string, windowSize: number, maxWindowsInFlight = 1) {
  return steppingChild(fx, jobId, windowSize, { maxWindowsInFlight });
}

/** The dead child's lease runs out on its own (it can no longer renew it). */
async function waitForLeaseExpiry(jobId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await db.pool.query(
      "select lease_expires_at <= now() as expired from typesense_sync_jobs where id = $1",
      [jobId],
    );
    if (r.rows[0].expired) return;
    await sleep(50);
  }
  throw new Error("lease never expired");
}

async function openRun(jobId: string) {
  const r = await db.pool.query(
    "select * from typesense_sync_runs where job_id = $1 and status in ('queued', 'running')",
    [jobId],
  );
  return r.rows[0];
}

/**
 * A child syncs windows 1-3 of 500 rows; window 4's imports fail past the
 * retry budget, so the run rolls back; the child is SIGKILLed right after the
 * rollback's first committed batch (the `rollback` event matching `expected`).
 */
async function killDuringRollback(jobId: string, expected: Record<string, unknown>) {
  const child = childFor(jobId, 500);
  try {
    for (let n = 1; n <= 3; n++) {
      expect(await child.next()).toMatchObject({ event: "window" });
      if (n === 3) fx.failNextImports(3);
      child.go();
    }
    expect(await child.next()).toMatchObject(expected);
  } finally {
    await child.kill();
  }
}

describeEmulatorOnly("crash and resume (SIGKILL of a child process)", () => {
  itEmulatorOnly(
    "killed while its manifest is still being built: the committed chunks stay, the resumed run continues the manifest and the windows",
    async () => {
      await createProducts(source.pool, "c_chunks", 3000);
      const collection = ts.uniqueName("c_chunks");
      const jobId = await insertJob(db.pool, { collection, table: "c_chunks" });
      // chunks of 200 and 300 rows commit, then the build stops at 500 rows
      const child = steppingChild(fx, jobId, 100, {
        manifestChunks: { firstChunkRows: 200, chunkRows: 300, freezeAfterChunk: 2 },
      });
      try {
        let frozenAt = 0;
        let windowsTo = 0;
        while (frozenAt === 0 || windowsTo < 500) {
          const ev = await child.next();
          if (ev.event === "chunk") frozenAt = ev.built as number;
          else {
            expect(ev).toMatchObject({ event: "window", toSeq: windowsTo + 100 });
            windowsTo = ev.toSeq as number;
            if (windowsTo < 500) child.go();
          }
        }
        expect(frozenAt).toBe(500);
      } finally {
        await child.kill();
      }
      // the windows ran ahead of the incomplete manifest, up to its committed rows
      const killed = await openRun(jobId);
      expect(killed).toMatchObject({ status: "running", manifest_complete: false });
      expect(Number(killed.next_manifest_seq)).toBe(500);
      const count = async () =>
        (
          await db.pool.query<{ n: number; max: number }>(
            `select count(*)::int n, max(seq)::int max, count(distinct doc_id)::int d
               from typesense_sync_run_manifest_rows where run_id = $1`,
            [killed.id],
          )
        ).rows[0];
      expect(await count()).toMatchObject({ n: 500, max: 499 });
      // changes before the resume: a synced row and a not yet listed one go, new rows come
      await source.pool.query("delete from c_chunks where id in (50, 2500)");
      await source.pool.query(
        "insert into c_chunks (id, name) select g, 'late ' || g from generate_series(3001, 3050) g",
      );

      await waitForLeaseExpiry(jobId);
      const fromSeqs: number[] = [];
      let atLastWindow: unknown;
      const res = await engine({
        windowSize: 100,
        onWindowCommitted: async (w) => {
          fromSeqs.push(w.fromSeq);
          if (w.toSeq === 3049) atLastWindow = await count();
        },
      }).runJob(jobId, { trigger: "schedule" });
      expect(res).toMatchObject({ status: "succeeded", resumed: true, runId: killed.id });
      expect(fromSeqs[0]).toBe(500);
      // 500 listed before the kill + ids 501..3050 without 2500
      expect(atLastWindow).toMatchObject({ n: 3049, max: 3048, d: 3049 });
      // the finished run's manifest is dropped with the finish
      expect(await count()).toMatchObject({ n: 0 });
      const runs = await runRows(db.pool, jobId);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ manifest_complete: true, manifest_total_rows: "3049" });
      await expectCollectionEqualsTable(fx.backend, collection, source.pool, "c_chunks");
    },
  );

  itEmulatorOnly("resumes the same run at its checkpoint, not at window 1", async () => {
    await createProducts(source.pool, "c_resume", 1000);
    const collection = ts.uniqueName("c_resume");
    const jobId = await insertJob(db.pool, { collection, table: "c_resume" });
    const child = childFor(jobId, 100);
    try {
      for (let n = 1; n <= 4; n++) {
        const ev = await child.next();
        expect(ev).toMatchObject({ event: "window", toSeq: n * 100 });
        if (n < 4) child.go();
      }
      // dies after its 4th checkpoint, before window 5 starts
      await child.kill();
    } finally {
      await child.kill();
    }
    const killed = await openRun(jobId);
    expect(killed).toMatchObject({ status: "running", stage: "windows", owner: "child" });
    expect(Number(killed.next_manifest_seq)).toBe(400);
    expect(Number(killed.manifest_processed_rows)).toBe(400);
    expect((await collectionDocuments(fx.backend, collection)).size).toBe(400);

    await waitForLeaseExpiry(jobId);
    const importsBefore = ts.emulator!.stats().importRequests;
    const fromSeqs: number[] = [];
    const res = await engine({
      windowSize: 100,
      onWindowCommitted: (w) => void fromSeqs.push(w.fromSeq),
    }).runJob(jobId, { trigger: "schedule" });
    expect(res).toMatchObject({ status: "succeeded", resumed: true, runId: killed.id });
    expect(fromSeqs).toEqual([400, 500, 600, 700, 800, 900]);
    // one import request per remaining window: windows 1-4 were not imported again
    expect(ts.emulator!.stats().importRequests - importsBefore).toBe(6);
    const runs = await runRows(db.pool, jobId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: "succeeded",
      resume_attempt_count: 1,
      imported_count: "1000",
      unchanged_count: "0",
      manifest_processed_rows: "1000",
      owner: "parent",
    });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "c_resume");
  });

  itEmulatorOnly(
    "a crash during rollback resumes the rollback and still restores the pre-run state",
    async () => {
      await createProducts(source.pool, "c_rollback", 2000);
      const collection = ts.uniqueName("c_rollback");
      const jobId = await insertJob(db.pool, { collection, table: "c_rollback" });
      expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
      await source.pool.query("update c_rollback set name = name || ' v2'");
      await source.pool.query("insert into c_rollback (id, name) values (-5, 'created')");
      const before = await collectionDocuments(fx.backend, collection);

      // window 4 exhausts its retries; the rollback commits one batch, then the process dies
      await killDuringRollback(jobId, { event: "rollback" });
      const killed = await openRun(jobId);
      expect(killed).toMatchObject({
        status: "running",
        stage: "rollback",
        rollback_attempted: true,
        rollback_status: "running",
      });
      const done = Number(killed.rollback_restored_count) + Number(killed.rollback_deleted_count);
      expect(done).toBeGreaterThan(0);
      expect(done).toBeLessThan(2001);

      await waitForLeaseExpiry(jobId);
      const res = await engine().runJob(jobId, { trigger: "schedule" });
      expect(res).toMatchObject({ status: "failed", resumed: true, runId: killed.id });
      expect(res.rollback?.status).toBe("succeeded");
      const after = await collectionDocuments(fx.backend, collection);
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      for (const [id, doc] of before) expect(after.get(id), `doc ${id}`).toEqual(doc);
      const runs = await runRows(db.pool, jobId);
      expect(runs).toHaveLength(2); // the initial sync + the rolled-back run, never a third
      expect(runs[1]).toMatchObject({
        status: "failed",
        resume_attempt_count: 1,
        rollback_status: "succeeded",
        rollback_restored_count: "1999", // ids 1..1999: windows 1-4 (4 was backed up before its import failed)
        rollback_deleted_count: "1",
      });
      const pending = await db.pool.query(
        "select count(*)::int n from typesense_sync_run_backups where run_id = $1 and not restored",
        [killed.id],
      );
      expect(pending.rows[0].n).toBe(0);
    },
  );

  itEmulatorOnly(
    "a first sync resumed after a crash keeps the marker for what the dead attempt wrote",
    async () => {
      await createProducts(source.pool, "c_first_mix", 2000);
      const collection = ts.uniqueName("c_first_mix");
      const jobId = await insertJob(db.pool, { collection, table: "c_first_mix" });
      const child = childFor(jobId, 500);
      try {
        expect(await child.next()).toMatchObject({ event: "window", toSeq: 500 });
        child.go();
        expect(await child.next()).toMatchObject({ event: "window", toSeq: 1000 });
        await child.kill(); // marker mode wrote seqs 0..999
      } finally {
        await child.kill();
      }
      await waitForLeaseExpiry(jobId);
      // the resumed attempt finds docs: per-document backups from seq 1000 on
      const failAfter1500 = (w: { toSeq: number }) => {
        if (w.toSeq !== 1500) return;
        fx.failNextImports(3);
      };
      const res = await engine({ windowSize: 500, onWindowCommitted: failAfter1500 }).runJob(
        jobId,
        { trigger: "schedule" },
      );
      expect(res).toMatchObject({ status: "failed", resumed: true });
      expect(res.rollback).toMatchObject({ status: "succeeded", restored: 0, deleted: 2000 });
      expect((await collectionDocuments(fx.backend, collection)).size).toBe(0);
      const backups = await db.pool.query<{ lo: string; n: number }>(
        "select min(manifest_seq)::text lo, count(*)::int n from typesense_sync_run_backups where run_id = $1",
        [res.runId],
      );
      expect(backups.rows[0]).toEqual({ lo: "1000", n: 1000 });
    },
  );

  itEmulatorOnly(
    "a crash during the rollback of a first sync resumes the marker deletes and empties the collection",
    async () => {
      await createProducts(source.pool, "c_first_rb", 2000);
      const collection = ts.uniqueName("c_first_rb");
      const jobId = await insertJob(db.pool, { collection, table: "c_first_rb" });
      // window 4 exhausts its retries; the rollback deletes one batch, then the process dies
      await killDuringRollback(jobId, { event: "rollback", restored: 0, deleted: 500 });
      const killed = await openRun(jobId);
      expect(killed).toMatchObject({ stage: "rollback", rollback_status: "running" });
      const marker = await db.pool.query(
        "select upto_seq::int upto from typesense_sync_run_created_ranges where run_id = $1",
        [killed.id],
      );
      expect(marker.rows[0].upto).toBe(1500); // seqs 1500..1999 deleted, the rest still to go
      expect((await collectionDocuments(fx.backend, collection)).size).toBe(1500);

      await waitForLeaseExpiry(jobId);
      const res = await engine().runJob(jobId, { trigger: "schedule" });
      expect(res).toMatchObject({ status: "failed", resumed: true, runId: killed.id });
      expect(res.rollback).toMatchObject({ status: "succeeded", restored: 0, deleted: 2000 });
      expect((await collectionDocuments(fx.backend, collection)).size).toBe(0);
      const backups = await db.pool.query(
        "select count(*)::int n from typesense_sync_run_backups where run_id = $1",
        [killed.id],
      );
      expect(backups.rows[0].n).toBe(0);
    },
  );

  itEmulatorOnly(
    "two windows in flight (the default): checkpoints in order, a 503 retried, SIGKILL resumes at the checkpoint",
    async () => {
      await createProducts(source.pool, "c_pipe", 1000);
      const collection = ts.uniqueName("c_pipe");
      const jobId = await insertJob(db.pool, { collection, table: "c_pipe" });
      const notReadyOnce = () => fx.failNextImports(1);
      notReadyOnce();
      const child = childFor(jobId, 100, 2);
      try {
        for (let n = 1; n <= 4; n++) {
          const ev = await child.next();
          // strictly in seq order although two imports overlap
          expect(ev).toMatchObject({ event: "window", fromSeq: (n - 1) * 100, toSeq: n * 100 });
          if (n < 4) child.go();
        }
        // dies after its 4th checkpoint; window 5's import may already be in flight
        await child.kill();
      } finally {
        await child.kill();
      }
      const killed = await openRun(jobId);
      expect(killed).toMatchObject({ status: "running", stage: "windows", owner: "child" });
      expect(Number(killed.next_manifest_seq)).toBe(400);
      expect(Number(killed.manifest_processed_rows)).toBe(400);
      expect(Number(killed.imported_count)).toBe(400);
      expect(Number(killed.retry_attempt_count)).toBeGreaterThanOrEqual(1);
      const written = (await collectionDocuments(fx.backend, collection)).size;
      expect(written).toBeGreaterThanOrEqual(400);
      expect(written).toBeLessThanOrEqual(600);

      await waitForLeaseExpiry(jobId);
      notReadyOnce();
      const fromSeqs: number[] = [];
      const res = await engine({
        windowSize: 100,
        maxWindowsInFlight: undefined, // the engine's default: 2
        onWindowCommitted: (w) => void fromSeqs.push(w.fromSeq),
      }).runJob(jobId, { trigger: "schedule" });
      expect(res).toMatchObject({ status: "succeeded", resumed: true, runId: killed.id });
      expect(fromSeqs).toEqual([400, 500, 600, 700, 800, 900]);
      const runs = await runRows(db.pool, jobId);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({
        status: "succeeded",
        resume_attempt_count: 1,
        failed_count: "0",
        manifest_processed_rows: "1000",
        next_manifest_seq: "1000",
      });
      // docs the dead attempt wrote past its checkpoint are unchanged now, the rest imported
      const run = runs[0]!;
      expect(Number(run.imported_count) + Number(run.unchanged_count)).toBe(1000);
      expect(Number(run.unchanged_count)).toBe(written - 400);
      expect(Number(run.retry_attempt_count)).toBeGreaterThanOrEqual(2);
      await expectCollectionEqualsTable(fx.backend, collection, source.pool, "c_pipe");
    },
  );
});
