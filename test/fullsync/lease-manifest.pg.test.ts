import type pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { describeTable } from "../../src/catalog/index.js";
import {
  manifestRowCount,
  readManifestWindow,
  recordEstimate,
} from "../../src/db/repositories/manifest.js";
import { buildManifest } from "../../src/db/repositories/manifest-progress.js";
import { createDocumentMapper, createWindowReader } from "../../src/documents/index.js";
import { claimLease, LeaseLostError, releaseLease, renewLease } from "../../src/fullsync/index.js";
import { useTestDatabase } from "../support/pg.js";
import { insertJob, insertRun } from "./helpers.js";
import { useSourceDatabase } from "./support.js";

const db = useTestDatabase();
const sourceDb = useSourceDatabase();
let source: pg.Pool;

beforeAll(async () => {
  source = sourceDb.pool;
  await source.query(`create table items (id bigint primary key, name text not null)`);
  await source.query(
    `insert into items select g, 'item ' || g from generate_series(1, 2500) g where g % 7 <> 0`,
  );
  // ids with COPY-special characters, and a char(n) id whose output keeps its padding
  await source.query(`create table odd (k char(6) primary key, v text)`);
  await source.query(
    `insert into odd values ('a\tb', '1'), (E'c\\\\d', '2'), ('e\nf', '3'), ('ü', '4'), ('z', '5')`,
  );
  await source.query("analyze items");
});

describe("lease", () => {
  it("lets exactly one of many concurrent claimers win, fences renewals by token, frees on release", async () => {
    const jobId = await insertJob(db.pool, { collection: "lease1", table: "items" });
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        claimLease(db.pool, { jobId, owner: `w${i}`, ttlMs: 60_000 }),
      ),
    );
    const winners = claims.filter((c) => c !== null);
    expect(winners).toHaveLength(1);
    const lease = winners[0]!;
    await renewLease(db.pool, lease, 60_000);
    expect(await claimLease(db.pool, { jobId, owner: "late", ttlMs: 60_000 })).toBeNull();
    await releaseLease(db.pool, lease);
    const next = await claimLease(db.pool, { jobId, owner: "next", ttlMs: 60_000 });
    expect(next).not.toBeNull();
    // the old holder can neither renew nor release the new holder's lease
    await expect(renewLease(db.pool, lease, 60_000)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await releaseLease(db.pool, lease)).toBe(false);
    const row = await db.pool.query("select lease_owner from typesense_sync_jobs where id = $1", [
      jobId,
    ]);
    expect(row.rows[0].lease_owner).toBe("next");
  });

  it("can be taken over once expired", async () => {
    const jobId = await insertJob(db.pool, { collection: "lease2", table: "items" });
    const dead = await claimLease(db.pool, { jobId, owner: "dead", ttlMs: 1000 });
    expect(dead).not.toBeNull();
    await db.pool.query(
      "update typesense_sync_jobs set lease_expires_at = now() - interval '1 second' where id = $1",
      [jobId],
    );
    const alive = await claimLease(db.pool, { jobId, owner: "alive", ttlMs: 60_000 });
    expect(alive?.token).not.toBe(dead?.token);
  });
});

describe("manifest", () => {
  it("copies the ordered ids with dense seqs and turns the estimate into an exact total", async () => {
    const jobId = await insertJob(db.pool, { collection: "m1", table: "items" });
    const runId = await insertRun(db.pool, jobId);
    const table = await describeTable(source, { schema: "public", table: "items" });
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    await recordEstimate(db.pool, runId, table.estimatedRows, "manifest");
    const est = await db.pool.query(
      "select progress_total_kind, manifest_total_rows from typesense_sync_runs where id = $1",
      [runId],
    );
    expect(est.rows[0].progress_total_kind).toBe("estimated");
    expect(Number(est.rows[0].manifest_total_rows)).toBeGreaterThan(0);

    const total = await buildManifest({ control: db.pool, source, runId, mapper });
    const expected = 2500 - Math.floor(2500 / 7);
    expect(total).toBe(expected);
    const run = await db.pool.query(
      `select progress_total_kind, manifest_total_rows, manifest_complete from typesense_sync_runs where id = $1`,
      [runId],
    );
    expect(run.rows[0]).toEqual({
      progress_total_kind: "exact",
      manifest_total_rows: String(expected),
      manifest_complete: true,
    });
    const w = await readManifestWindow(db.pool, runId, 0, 10);
    expect(w.map((x) => x.docId)).toEqual(["1", "2", "3", "4", "5", "6", "8", "9", "10", "11"]);
    expect(w.map((x) => x.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const tail = await readManifestWindow(db.pool, runId, expected - 2, 10);
    expect(tail.map((x) => x.docId)).toEqual(["2498", "2500"]); // 2499 = 7 * 357

    // rebuilding (a resumed run whose manifest never committed) replaces, not appends
    expect(await buildManifest({ control: db.pool, source, runId, mapper })).toBe(expected);
    const n = await db.pool.query(
      "select count(*)::int n from typesense_sync_run_manifest_rows where run_id = $1",
      [runId],
    );
    expect(n.rows[0].n).toBe(expected);
  });

  it("keeps ids with tabs, newlines, backslashes and padding exactly as rowToDocument sees them", async () => {
    const jobId = await insertJob(db.pool, { collection: "m2", table: "odd", idColumn: "k" });
    const runId = await insertRun(db.pool, jobId);
    const table = await describeTable(source, { schema: "public", table: "odd" });
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "k",
      includedColumns: [],
      queryableFields: [],
    });
    await buildManifest({ control: db.pool, source, runId, mapper });
    const ids = (await readManifestWindow(db.pool, runId, 0, 100)).map((x) => x.docId);
    const reader = createWindowReader({ source, mapper });
    const read = await reader.read(ids);
    expect(read.missing).toEqual([]);
    expect((await reader.readOrdered(ids)).missing).toEqual([]);
    expect([...read.documents.keys()].sort()).toEqual([...ids].sort());
    expect(ids).toContain("a\tb   ");
    expect(ids).toContain("e\nf   ");
  });
});

describe("manifest chunks", () => {
  it("chunks of 1-2 rows and a build continued after its last committed chunk give the one-shot manifest, escapes included", async () => {
    const table = await describeTable(source, { schema: "public", table: "odd" });
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "k",
      includedColumns: [],
      queryableFields: [],
    });
    const rowsOf = async (runId: string) =>
      (await readManifestWindow(db.pool, runId, 0, 100)).map((x) => [x.seq, x.docId]);
    const job = await insertJob(db.pool, { collection: "m3", table: "odd", idColumn: "k" });
    const oneShot = await insertRun(db.pool, job);
    expect(await buildManifest({ control: db.pool, source, runId: oneShot, mapper })).toBe(5);
    const want = await rowsOf(oneShot);
    await db.pool.query("update typesense_sync_runs set status = 'failed' where id = $1", [
      oneShot,
    ]);

    const chunked = await insertRun(db.pool, job);
    // the build fails after its 2nd chunk (3 rows committed: 1 + 2)...
    const failing = buildManifest({
      control: db.pool,
      source,
      runId: chunked,
      mapper,
      firstChunkRows: 1,
      chunkRows: 2,
      onChunk: (built) => {
        if (built === 3) throw new Error("killed");
      },
    });
    await expect(failing).rejects.toThrow("killed");
    expect(await manifestRowCount(db.pool, chunked)).toBe(3);
    // ...and a new build continues after the last committed id (a quoted, escaped char(6) text)
    expect(
      await buildManifest({
        control: db.pool,
        source,
        runId: chunked,
        mapper,
        builtRows: 3,
        chunkRows: 1,
      }),
    ).toBe(5);
    expect(await rowsOf(chunked)).toEqual(want);
  });
});

describe("window reader", () => {
  it("reads by id in one query, reports vanished ids, and treats unparsable ids as absent", async () => {
    const table = await describeTable(source, { schema: "public", table: "items" });
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    const reader = createWindowReader({ source, mapper });
    const read = await reader.read(["1", "7", "8"]);
    expect([...read.documents.keys()].sort()).toEqual(["1", "8"]);
    expect(read.documents.get("8")).toEqual({ id: "8", name: "item 8" });
    expect(read.missing).toEqual(["7"]);
    // the range-scan variant for manifest windows gives the same answer and leaves out
    // rows of the range that are not in the window (inserted after the manifest)
    await source.query("insert into items values (7, 'late seven')");
    const ordered = await reader.readOrdered(["1", "8"]);
    expect([...ordered.documents.keys()]).toEqual(["1", "8"]);
    expect(ordered.documents.get("8")).toEqual(read.documents.get("8"));
    expect((await reader.readOrdered(["1", "7", "9999"])).missing).toEqual(["9999"]);
    await source.query("delete from items where id = 7");
    const existing = await reader.existing(["1", "abc", "14", "15", "x1", "99999999999999999999"]);
    expect([...existing].sort()).toEqual(["1", "15"]);
  });
});
