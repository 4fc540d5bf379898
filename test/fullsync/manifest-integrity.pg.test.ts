import { randomUUID } from "node:crypto";
import type pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { describeTable } from "../../src/catalog/index.js";
import { createManifestCursor, readManifestWindow } from "../../src/db/repositories/manifest.js";
import { buildManifest } from "../../src/db/repositories/manifest-progress.js";
import { createDocumentMapper } from "../../src/documents/index.js";
import { useTestDatabase } from "../support/pg.js";
import { insertJob, insertRun } from "./helpers.js";
import { useSourceDatabase } from "./support.js";

/*
 * The manifest rows lost their foreign key to the run (sql/003: its per-row
 * check cost more than the COPY). What the key guaranteed must still hold:
 * no manifest rows for a run that does not exist, and deleting a run (also
 * through its job's cascade) deletes its manifest rows. Since sql/005 each
 * run's manifest is its own partition, attached whole in the build's
 * transaction and dropped with the run.
 */

const db = useTestDatabase();
const sourceDb = useSourceDatabase();
let source: pg.Pool;

beforeAll(async () => {
  source = sourceDb.pool;
  await source.query("create table items (id bigint primary key, name text)");
  await source.query("insert into items select g, 'n' || g from generate_series(1, 300) g");
});

async function mapper() {
  const table = await describeTable(source, { schema: "public", table: "items" });
  return createDocumentMapper(table, {
    documentIdColumn: "id",
    includedColumns: [],
    queryableFields: [],
  });
}

const partitionOf = async (runId: string) =>
  (
    await db.pool.query<{ p: string | null }>(
      "select typesense_sync_manifest_partition($1)::text as p",
      [runId],
    )
  ).rows[0]!.p;

const manifestRows = async (runId: string) =>
  (
    await db.pool.query<{ n: number }>(
      "select count(*)::int n from typesense_sync_run_manifest_rows where run_id = $1",
      [runId],
    )
  ).rows[0]!.n;

describe("manifest rows without a foreign key", () => {
  it("refuses to build a manifest for a run that does not exist, leaving no rows", async () => {
    const runId = randomUUID();
    await expect(
      buildManifest({ control: db.pool, source, runId, mapper: await mapper() }),
    ).rejects.toThrow(/does not exist/);
    expect(await manifestRows(runId)).toBe(0);
    expect(await partitionOf(runId)).toBeNull();
  });

  it("a run's manifest is its own partition; a rebuild replaces it", async () => {
    const m = await mapper();
    const jobId = await insertJob(db.pool, { collection: "mp", table: "items" });
    const runId = await insertRun(db.pool, jobId);
    expect(await buildManifest({ control: db.pool, source, runId, mapper: m })).toBe(300);
    expect(await partitionOf(runId)).toBe(`typesense_sync_manifest_${runId.replaceAll("-", "")}`);
    await source.query("delete from items where id > 250");
    try {
      expect(await buildManifest({ control: db.pool, source, runId, mapper: m })).toBe(250);
      expect(await manifestRows(runId)).toBe(250);
      const w = await readManifestWindow(db.pool, runId, 245, 10);
      expect(w.map((x) => x.seq)).toEqual([245, 246, 247, 248, 249]);
    } finally {
      await source.query("insert into items select g, 'n' || g from generate_series(251, 300) g");
    }
  });

  it("deleting a run, directly or through its job, deletes its manifest rows", async () => {
    const m = await mapper();
    const jobA = await insertJob(db.pool, { collection: "ma", table: "items" });
    const jobB = await insertJob(db.pool, { collection: "mb", table: "items" });
    const runA = await insertRun(db.pool, jobA);
    const runB = await insertRun(db.pool, jobB);
    // one open run per job: runB finished, runC open
    await db.pool.query("update typesense_sync_runs set status = 'succeeded' where id = $1", [
      runB,
    ]);
    const runC = await insertRun(db.pool, jobB);
    for (const runId of [runA, runB, runC]) {
      expect(await buildManifest({ control: db.pool, source, runId, mapper: m })).toBe(300);
    }
    await db.pool.query("delete from typesense_sync_runs where id = $1", [runA]);
    expect(await manifestRows(runA)).toBe(0);
    expect(await partitionOf(runA)).toBeNull();
    expect(await manifestRows(runB)).toBe(300);
    await db.pool.query("delete from typesense_sync_jobs where id = $1", [jobB]);
    expect(await manifestRows(runB)).toBe(0);
    expect(await manifestRows(runC)).toBe(0);
  });

  it("the manifest cursor serves the same windows as one read per window", async () => {
    const jobId = await insertJob(db.pool, { collection: "mc", table: "items" });
    const runId = await insertRun(db.pool, jobId);
    await buildManifest({ control: db.pool, source, runId, mapper: await mapper() });
    for (const [from, size, per] of [
      [0, 7, 4],
      [0, 100, 2],
      [45, 10, 3], // resumed mid-manifest
      [0, 300, 4],
      [0, 1000, 1],
    ] as const) {
      const cursor = createManifestCursor(db.pool, runId, size, per);
      const got: unknown[] = [];
      const want: unknown[] = [];
      for (let seq = from; seq < 300; seq += size) {
        got.push(await cursor(seq));
        want.push(await readManifestWindow(db.pool, runId, seq, size));
      }
      expect(got).toEqual(want);
      expect(got.flat()).toHaveLength(300 - from);
      expect(await cursor(300)).toEqual([]);
    }
  });
});
