import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { RunConflictError } from "../../src/coordination/index.js";
import type { WindowSummary } from "../../src/fullsync/index.js";
import { itEmulatorOnly } from "../support/typesense.js";
import { insertJob } from "./helpers.js";
import {
  collectionDocuments,
  createProducts,
  expectCollectionEqualsTable,
  runRows,
  useEngineFixture,
} from "./support.js";

const fx = useEngineFixture({ owner: "test", windowSize: 100 });
const { db, source, ts, engine } = fx;

async function job(table: string, rows: number, windowSize = 100) {
  await createProducts(source.pool, table, rows);
  const collection = ts.uniqueName(table);
  const jobId = await insertJob(db.pool, { collection, table, windowSize });
  return { jobId, collection };
}

describe("full sync", () => {
  it("copies a table, records progress and freshness, and skips unchanged docs next time", async () => {
    const { jobId, collection } = await job("p_full", 1050);
    const windows: WindowSummary[] = [];
    const res = await engine({ onWindowCommitted: (w) => void windows.push(w) }).runJob(jobId, {
      trigger: "manual",
    });
    expect(res.status).toBe("succeeded");
    expect(windows.map((w) => w.fromSeq)).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000,
    ]);
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "p_full");
    const [run] = await runRows(db.pool, jobId);
    expect(run).toMatchObject({
      status: "succeeded",
      stage: "finished",
      trigger: "manual",
      progress_total_kind: "exact",
      manifest_total_rows: "1050",
      manifest_processed_rows: "1050",
      next_manifest_seq: "1050",
      imported_count: "1050",
      unchanged_count: "0",
      failed_count: "0",
      resume_attempt_count: 0,
      rollback_status: "not_needed",
      source_row_count: "1050",
    });
    const j = await db.pool.query("select * from typesense_sync_jobs where id = $1", [jobId]);
    expect(j.rows[0]).toMatchObject({
      last_sync_status: "succeeded",
      last_sync_error: null,
      last_source_row_count: "1050",
      last_imported_count: "1050",
      last_failed_count: "0",
      lease_owner: null,
      lease_token: null,
    });
    expect(j.rows[0].next_sync_at.getTime() - j.rows[0].last_synced_at.getTime()).toBe(3600_000);

    // second run: nothing changed -> nothing re-imported
    const before = ts.emulator?.stats().importedLines ?? 0;
    const again = await engine().runJob(jobId, { trigger: "schedule" });
    expect(again.counters).toMatchObject({ imported: 0, unchanged: 1050, failed: 0, deleted: 0 });
    if (ts.emulator) expect(ts.emulator.stats().importedLines).toBe(before);
    expect(await runRows(db.pool, jobId)).toHaveLength(2);
  });

  it("refuses a second run while the lease is held", async () => {
    const { jobId } = await job("p_lease", 10);
    await db.pool.query(
      "update typesense_sync_jobs set lease_owner = 'other', lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute' where id = $1",
      [jobId],
    );
    await expect(engine().runJob(jobId, { trigger: "manual" })).rejects.toBeInstanceOf(
      RunConflictError,
    );
    expect(await runRows(db.pool, jobId)).toHaveLength(0);
  });

  it("stops without moving the checkpoint once another instance took the lease over", async () => {
    const { jobId } = await job("p_stolen", 300);
    const steal = async (w: WindowSummary) => {
      if (w.fromSeq !== 100) return;
      // as if our lease had expired and another instance claimed it
      await db.pool.query(
        "update typesense_sync_jobs set lease_owner = 'thief', lease_token = gen_random_uuid() where id = $1",
        [jobId],
      );
    };
    const res = await engine({ onWindowCommitted: steal }).runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("interrupted");
    const [run] = await runRows(db.pool, jobId);
    expect(run).toMatchObject({ status: "running", next_manifest_seq: "200", finished_at: null });
    const j = await db.pool.query("select lease_owner from typesense_sync_jobs where id = $1", [
      jobId,
    ]);
    expect(j.rows[0].lease_owner).toBe("thief");
  });

  it("stops before its next window once it may no longer run here (mayRun), and resumes elsewhere", async () => {
    const { jobId, collection } = await job("p_mayrun", 500);
    let allowed = true;
    const written: number[] = [];
    const res = await engine({
      // as if this instance lost the CDC leadership of the job's client after window 1
      mayRun: () => allowed,
      onWindowCommitted: (w) => {
        written.push(w.fromSeq);
        allowed = false;
      },
    }).runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("interrupted");
    // window 2 may already have been read ahead; it was not written
    expect(written).toEqual([0]);
    expect((await collectionDocuments(fx.backend, collection)).size).toBe(100);
    const [run] = await runRows(db.pool, jobId);
    expect(run).toMatchObject({ status: "running", next_manifest_seq: "100" });
    const j = await db.pool.query("select lease_owner from typesense_sync_jobs where id = $1", [
      jobId,
    ]);
    expect(j.rows[0].lease_owner).toBeNull();
    // the instance that may run it resumes at the checkpoint
    const resumed = await engine().runJob(jobId, { trigger: "schedule" });
    expect(resumed).toMatchObject({ status: "succeeded", resumed: true, runId: res.runId });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "p_mayrun");
  });

  it("a rollback stops, interrupted, once the run may no longer run here; the next holder finishes it", async () => {
    const { jobId, collection } = await job("p_mayrun_rb", 300);
    expect((await engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
    await source.pool.query("update p_mayrun_rb set name = name || ' v2'");
    const before = await collectionDocuments(fx.backend, collection);
    let allowed = true;
    const res = await engine({
      mayRun: () => allowed,
      onWindowCommitted: () => {
        // window 1 is written; then the run fails and, as the rollback
        // starts, this instance loses the right to write the job
        allowed = false;
        throw new Error("boom after window 1");
      },
    }).runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("interrupted");
    const [, open] = await runRows(db.pool, jobId);
    expect(open).toMatchObject({
      status: "running",
      stage: "rollback",
      rollback_status: "running",
      rollback_restored_count: "0",
    });
    // nothing was compensated here: window 1 still holds the run's writes
    expect((await collectionDocuments(fx.backend, collection)).get("1")?.name).toBe("product 1 v2");
    const resumed = await engine().runJob(jobId, { trigger: "schedule" });
    expect(resumed).toMatchObject({ status: "failed", resumed: true, runId: res.runId });
    expect(resumed.rollback).toMatchObject({ status: "succeeded", restored: 100, deleted: 0 });
    const after = await collectionDocuments(fx.backend, collection);
    for (const [id, doc] of before) expect(after.get(id), `doc ${id}`).toEqual(doc);
  });

  itEmulatorOnly("retries injected 503s and counts the retries", async () => {
    const { jobId, collection } = await job("p_503", 300);
    fx.failNextImports(2);
    const res = await engine().runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("succeeded");
    expect(res.counters.retries).toBe(2);
    const [run] = await runRows(db.pool, jobId);
    expect(run!.retry_attempt_count).toBe(2);
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "p_503");
  });

  it("sends rejected lines to dead letters while the rest imports, and resolves them once fixed", async () => {
    await createProducts(source.pool, "p_reject", 250);
    const collection = ts.uniqueName("p_reject");
    // `note` is NULL for every third row, so those docs lack a field the collection requires.
    await fx.backend.createCollection({
      name: collection,
      enable_nested_fields: true,
      fields: [{ name: "note", type: "string", optional: false }],
    });
    const jobId = await insertJob(db.pool, { collection, table: "p_reject" });
    const res = await engine().runJob(jobId, { trigger: "manual" });
    expect(res.error).toBeNull();
    const rejected = Math.floor(250 / 3);
    expect(res.counters).toMatchObject({ imported: 250 - rejected, failed: rejected });
    const letters = await db.pool.query(
      "select * from typesense_dead_letters where job_id = $1 order by doc_id::int",
      [jobId],
    );
    expect(letters.rows).toHaveLength(rejected);
    expect(letters.rows[0]).toMatchObject({
      origin: "full_sync",
      doc_id: "3",
      operation: "upsert",
      status: "open",
      error_code: 400,
      run_id: res.runId,
      attempts: 1,
    });
    expect(letters.rows[0].error_message).toContain("`note`");
    expect(letters.rows[0].payload).toMatchObject({ id: "3", name: "product 3" });
    const docs = await collectionDocuments(fx.backend, collection);
    expect(docs.size).toBe(250 - rejected);
    expect(docs.has("3")).toBe(false);
    const j = await db.pool.query(
      "select last_failed_count from typesense_sync_jobs where id = $1",
      [jobId],
    );
    expect(j.rows[0].last_failed_count).toBe(String(rejected));

    // fix the rows: the next run imports them and closes their letters
    await source.pool.query("update p_reject set note = 'fixed' where note is null");
    const next = await engine().runJob(jobId, { trigger: "manual" });
    expect(next.counters).toMatchObject({ imported: rejected, failed: 0 });
    const open = await db.pool.query(
      "select count(*)::int n from typesense_dead_letters where job_id = $1 and status = 'open'",
      [jobId],
    );
    expect(open.rows[0].n).toBe(0);
  });

  it("resolves the open dead letters of ids that need escaping once they import", async () => {
    await source.pool.query(
      `create table p_odd_ids (id text primary key, note text);
       insert into p_odd_ids values ('q"1', null), (E'b\\\\2', null), ('u ✓3', null),
         (E'tab\\t4', null), ('[5]', null), ('ok', 'fine')`,
    );
    const collection = ts.uniqueName("p_odd_ids");
    await fx.backend.createCollection({
      name: collection,
      fields: [{ name: "note", type: "string", optional: false }],
    });
    const jobId = await insertJob(db.pool, { collection, table: "p_odd_ids" });
    const first = await engine().runJob(jobId, { trigger: "manual" });
    expect(first.counters).toMatchObject({ imported: 1, failed: 5 });
    const open = async () =>
      (
        await db.pool.query<{ doc_id: string }>(
          "select doc_id from typesense_dead_letters where job_id = $1 and status = 'open' order by doc_id",
          [jobId],
        )
      ).rows.map((r) => r.doc_id);
    expect(await open()).toEqual(["[5]", "b\\2", 'q"1', "tab\t4", "u ✓3"].sort());
    // three of them fixed: exactly their letters close
    await source.pool.query(
      `update p_odd_ids set note = 'x' where id in ('q"1', E'tab\\t4', E'b\\\\2')`,
    );
    const second = await engine().runJob(jobId, { trigger: "manual" });
    expect(second.counters).toMatchObject({ imported: 3, failed: 2 });
    expect(await open()).toEqual(["[5]", "u ✓3"]);
  });

  it("windows start on the manifest's first chunk; a stop during the build interrupts the run and the next one finishes it", async () => {
    await createProducts(source.pool, "p_chunked", 1000);
    const collection = ts.uniqueName("p_chunked");
    const jobId = await insertJob(db.pool, { collection, table: "p_chunked" });
    const ctl = new AbortController();
    const seen: { toSeq: number; complete: boolean }[] = [];
    const runOf = async () =>
      (
        await db.pool.query(
          "select * from typesense_sync_runs where job_id = $1 order by created_at desc limit 1",
          [jobId],
        )
      ).rows[0];
    const first = await engine({
      windowSize: 100,
      manifestChunks: {
        firstChunkRows: 200,
        chunkRows: 200,
        onChunk: async (built) => {
          if (built < 600) return;
          // wait until the windows used the committed rows, then stop
          for (let i = 0; i < 200 && seen.length < 6; i++) await sleep(10);
          ctl.abort();
        },
      },
      onWindowCommitted: async (w) => {
        seen.push({ toSeq: w.toSeq, complete: (await runOf()).manifest_complete });
      },
    }).runJob(jobId, { trigger: "manual", signal: ctl.signal });
    expect(first.status).toBe("interrupted");
    expect(seen.slice(0, 6)).toEqual(
      [100, 200, 300, 400, 500, 600].map((toSeq) => ({ toSeq, complete: false })),
    );
    const open = await runOf();
    expect(open).toMatchObject({ status: "running", manifest_complete: false });
    const again = await engine({ windowSize: 100 }).runJob(jobId, { trigger: "manual" });
    expect(again).toMatchObject({ status: "succeeded", resumed: true, runId: open.id });
    expect(await runOf()).toMatchObject({ manifest_complete: true, manifest_total_rows: "1000" });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "p_chunked");
    // a finished run's manifest partition (and its chunks' leaves) goes with the finish
    const left = await db.pool.query(
      "select typesense_sync_manifest_partition($1) as p, (select count(*)::int from pg_class where relname like $2) as leaves",
      [open.id, `tsm_${String(open.id).replaceAll("-", "")}_%`],
    );
    expect(left.rows[0]).toEqual({ p: null, leaves: 0 });
  });

  it("fails with a message naming the field when the collection's type differs", async () => {
    await createProducts(source.pool, "p_conflict", 20);
    const collection = ts.uniqueName("p_conflict");
    await fx.backend.createCollection({
      name: collection,
      fields: [{ name: "qty", type: "string" }],
    });
    const jobId = await insertJob(db.pool, { collection, table: "p_conflict" });
    const res = await engine().runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("failed");
    expect(res.error).toMatch(/field "qty" is string in the collection but int32 in the table/);
    const [run] = await runRows(db.pool, jobId);
    expect(run).toMatchObject({ status: "failed", rollback_status: "not_needed" });
    const j = await db.pool.query("select * from typesense_sync_jobs where id = $1", [jobId]);
    expect(j.rows[0]).toMatchObject({ last_sync_status: "failed", lease_token: null });
    expect(j.rows[0].last_sync_error).toContain('"qty"');
  });

  it("ends consistent after concurrent updates, inserts and deletes, once the next run completes", async () => {
    const { jobId, collection } = await job("p_churn", 600);
    await engine().runJob(jobId, { trigger: "manual" });
    const churn = async (w: WindowSummary) => {
      if (w.fromSeq !== 200) return;
      await source.pool.query(`
        update p_churn set name = name || ' (edited)' where id in (5, 150, 450, 550);
        delete from p_churn where id in (10, 20, 420, 430);
        insert into p_churn (id, name) values (10000, 'new a'), (10001, 'new b'), (7, 'x')
          on conflict (id) do update set name = 'dup';`);
    };
    // one window read ahead: the windows after the next one read the churned rows
    const first = await engine({ onWindowCommitted: churn, readAheadWindows: 1 }).runJob(jobId, {
      trigger: "manual",
    });
    expect(first.status).toBe("succeeded");
    const mid = await collectionDocuments(fx.backend, collection);
    // later windows saw the change; deleted rows are gone: 420/430 vanished before their
    // window (deleted there), 10/20 after theirs (orphan sweep)
    expect(mid.get("450")?.name).toBe("product 450 (edited)");
    for (const id of ["10", "20", "420", "430"]) expect(mid.has(id)).toBe(false);
    // rows inserted after the manifest are not part of this run
    expect(mid.has("10000")).toBe(false);
    expect(first.counters).toMatchObject({ deleted: 4 });
    const second = await engine().runJob(jobId, { trigger: "manual" });
    expect(second.status).toBe("succeeded");
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "p_churn");
  });

  it("orphan sweep deletes docs whose rows are gone, never docs of rows inserted after the manifest", async () => {
    const { jobId, collection } = await job("p_orphan", 120);
    await engine().runJob(jobId, { trigger: "manual" });
    // docs nobody's row backs any more, incl. ids that do not parse as bigint
    await fx.backend.importDocuments(
      collection,
      [
        { id: "99999", name: "stale" },
        { id: "not-a-number", name: "stale" },
      ],
      { action: "upsert" },
    );
    const late = async (w: WindowSummary) => {
      if (w.fromSeq !== 0) return;
      // inserted after the manifest, and its doc written (as CDC would) before the sweep
      await source.pool.query("insert into p_orphan (id, name) values (5000, 'late')");
      await fx.backend.importDocuments(collection, [{ id: "5000", name: "late" }], {
        action: "upsert",
      });
    };
    const res = await engine({ onWindowCommitted: late }).runJob(jobId, { trigger: "manual" });
    expect(res.counters.deleted).toBe(2);
    const docs = await collectionDocuments(fx.backend, collection);
    expect(docs.has("99999")).toBe(false);
    expect(docs.has("not-a-number")).toBe(false);
    expect(docs.get("5000")?.name).toBe("late");
  });
});
