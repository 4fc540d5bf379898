import type pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { describeTable } from "../../src/catalog/index.js";
import { manifestRowCount } from "../../src/db/repositories/manifest.js";
import { seqPrefixer } from "../../src/db/repositories/manifest-build.js";
import { buildManifest } from "../../src/db/repositories/manifest-progress.js";
import { createDocumentMapper } from "../../src/documents/index.js";
import { useTestDatabase } from "../support/pg.js";
import { insertJob, insertRun } from "./helpers.js";
import { useSourceDatabase } from "./support.js";

/*
 * The manifest build numbers the ids in the sidecar (seqPrefixer) instead of
 * asking the source for row_number() over the id order (issue 18 point 3: it
 * was half of the source COPY's cost). The manifest must stay exactly what the
 * old statement produced: seq = row_number() over (order by id) - 1, doc_id =
 * the id's output text, for ids that COPY escapes (tab, newline, backslash)
 * and across chunk and resume boundaries.
 */

const db = useTestDatabase();
const sourceDb = useSourceDatabase();
let source: pg.Pool;

/** Deterministic pseudo-random text ids, with the characters COPY text escapes. */
function randomIds(n: number, seed: number): string[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x;
  };
  const alphabet = [
    "a",
    "Z",
    "0",
    "9",
    "\t",
    "\n",
    "\r",
    "\\",
    "'",
    '"',
    " ",
    "é",
    "✓",
    ",",
    "\\N",
  ];
  const ids = new Set<string>();
  while (ids.size < n) {
    let s = "";
    const len = 1 + (next() % 12);
    for (let i = 0; i < len; i++) s += alphabet[next() % alphabet.length];
    ids.add(s);
  }
  return [...ids];
}

beforeAll(async () => {
  source = sourceDb.pool;
  await source.query("create table texts (id text primary key, v int)");
  await source.query("insert into texts select u, 1 from unnest($1::text[]) u", [
    randomIds(500, 42),
  ]);
});

async function mapper() {
  const table = await describeTable(source, { schema: "public", table: "texts" });
  return createDocumentMapper(table, {
    documentIdColumn: "id",
    includedColumns: [],
    queryableFields: [],
  });
}

/** What the old build statement numbered: every id, in id order, from 0. */
async function oldNumbering(): Promise<{ seq: number; doc_id: string }[]> {
  const r = await source.query<{ seq: number; doc_id: string }>(
    "select (row_number() over (order by id) - 1)::int as seq, id as doc_id from texts order by id",
  );
  return r.rows;
}

async function manifest(runId: string): Promise<{ seq: number; doc_id: string }[]> {
  const r = await db.pool.query<{ seq: number; doc_id: string }>(
    "select seq::int, doc_id from typesense_sync_run_manifest_rows where run_id = $1 order by seq",
    [runId],
  );
  return r.rows;
}

describe("manifest seqs numbered by the sidecar", () => {
  it("equal row_number() over the id order for escaped text ids, in many chunks", async () => {
    const jobId = await insertJob(db.pool, { collection: "seqs1", table: "texts" });
    const runId = await insertRun(db.pool, jobId);
    const total = await buildManifest({
      control: db.pool,
      source,
      runId,
      mapper: await mapper(),
      firstChunkRows: 7,
      chunkRows: 13,
    });
    expect(total).toBe(500);
    expect(await manifest(runId)).toEqual(await oldNumbering());
  });

  it("a resumed build numbers on from the committed rows, equal to one whole build", async () => {
    const jobId = await insertJob(db.pool, { collection: "seqs2", table: "texts" });
    const runId = await insertRun(db.pool, jobId);
    const m = await mapper();
    const stop = new AbortController();
    await expect(
      buildManifest({
        control: db.pool,
        source,
        runId,
        mapper: m,
        firstChunkRows: 11,
        chunkRows: 50,
        signal: stop.signal,
        onChunk: (built) => {
          if (built >= 111) stop.abort();
        },
      }),
    ).rejects.toThrow(/stopped/);
    const builtRows = await manifestRowCount(db.pool, runId);
    expect(builtRows).toBe(111);
    await buildManifest({ control: db.pool, source, runId, mapper: m, builtRows, chunkRows: 17 });
    expect(await manifest(runId)).toEqual(await oldNumbering());
  });
});

describe("seqPrefixer", () => {
  it("numbers rows that span the slices it is given, like numbering the whole stream, across digit carries", () => {
    const rows = ["a", "bb\\tb", "", "\\\\", "é✓", "x".repeat(40), "z"];
    const whole = Buffer.from(rows.map((r) => `${r}\n`).join(""));
    // first seqs whose numbering carries into one more digit (9 -> 10, 99 -> 100, ...)
    for (const first of [0, 5, 95, 996, 9_999_999_997]) {
      const expected = rows.map((r, i) => `${first + i}\t${r}\n`).join("");
      for (let seed = 1; seed < 60; seed++) expect(sliced(first, seed)).toBe(expected);
    }
    function sliced(first: number, seed: number): string {
      const prefix = seqPrefixer(first);
      const parts: Buffer[] = [];
      // cut the stream at pseudo-random byte offsets, some inside a multi-byte character
      let at = 0;
      let x = seed;
      while (at < whole.length) {
        x = (x * 48271) % 2147483647;
        const end = Math.min(whole.length, at + 1 + (x % 9));
        parts.push(prefix(whole, at, end));
        at = end;
      }
      return Buffer.concat(parts).toString("utf8");
    }
  });
});
