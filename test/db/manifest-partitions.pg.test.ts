import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { insertJob, insertRun } from "../fullsync/helpers.js";
import { silentLogger } from "../support/log.js";
import { createDatabase, SQL_DIR } from "../support/pg.js";

/*
 * sql/005 turns typesense_sync_run_manifest_rows into a table partitioned by
 * run. Manifests that exist when it runs (an unfinished run resumes from its
 * manifest after the upgrade) move into one partition per run, unchanged, and
 * the run-delete cascade drops them.
 */

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

it("existing manifests move into one partition per run, unchanged", async () => {
  const db = await createDatabase("mpart");
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  const before = mkdtempSync(join(tmpdir(), "mig-"));
  cleanups.push(async () => rmSync(before, { recursive: true, force: true }));
  for (const f of [
    "001_control_schema.sql",
    "002_saga_created_ranges.sql",
    "003_manifest_rows_without_fk.sql",
    "004_cdc_resync_pending.sql",
  ]) {
    cpSync(join(SQL_DIR, f), join(before, f));
  }
  const log = silentLogger();
  await migrate({ pool, dir: before, log });
  const job = await insertJob(pool, { collection: "c", table: "t" });
  const runA = await insertRun(pool, job);
  await pool.query("update typesense_sync_runs set status = 'failed' where id = $1", [runA]);
  const runB = await insertRun(pool, job);
  await pool.query(
    `insert into typesense_sync_run_manifest_rows (run_id, seq, doc_id)
     select $1::uuid, g, 'a' || g from generate_series(0, 9) g
     union all select $2::uuid, g, E'b\\t"' || g from generate_series(0, 4) g`,
    [runA, runB],
  );
  const rows = async () =>
    (
      await pool.query(
        "select run_id, seq::int, doc_id from typesense_sync_run_manifest_rows order by run_id, seq",
      )
    ).rows;
  const want = await rows();
  expect(want).toHaveLength(15);

  const r = await migrate({ pool, dir: SQL_DIR, log });
  expect(r.applied.map((x) => x.version)).toContain(5);
  expect(await rows()).toEqual(want);
  const parts = await pool.query<{ run: string; part: string | null }>(
    "select r.id as run, typesense_sync_manifest_partition(r.id)::text as part from typesense_sync_runs r order by r.id",
  );
  for (const p of parts.rows) {
    expect(p.part).toBe(`typesense_sync_manifest_${p.run.replaceAll("-", "")}`);
  }
  // the primary key still holds per run
  await expect(
    pool.query("insert into typesense_sync_run_manifest_rows values ($1, 0, 'dup')", [runB]),
  ).rejects.toThrow(/duplicate key/);
  await pool.query("delete from typesense_sync_runs where id = $1", [runA]);
  expect((await rows()).map((x) => x.run_id)).toEqual([runB, runB, runB, runB, runB]);
  const left = await pool.query<{ n: number }>(
    "select count(*)::int n from pg_inherits where inhparent = 'typesense_sync_run_manifest_rows'::regclass",
  );
  expect(left.rows[0]!.n).toBe(1);
});
