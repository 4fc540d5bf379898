import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ResolvedDocument,
  renderSpecSql,
  resolveDocumentSpec,
} from "../../../src/documents/index.js";
import { parseJson } from "../../../src/json/codec.js";
import type { Document } from "../../../src/typesense/types.js";
import { useTestDatabase } from "../../support/pg.js";
import { oracleDocuments, SHOP_DDL, SHOP_JOB, SHOP_SPEC } from "./fixture.js";

/*
 * The spec's ONE statement, in each of its forms (byIds, the window's range
 * and its COPY, whole), renders exactly the documents a hand-written SQL
 * query computes over the same tables (fixture.ts SHOP_ORACLE).
 */

const db = useTestDatabase({ migrate: false });
let resolved: ResolvedDocument;
let oracle: Map<string, Document>;

beforeAll(async () => {
  await db.pool.query(SHOP_DDL);
  resolved = await resolveDocumentSpec(db.pool, SHOP_JOB, SHOP_SPEC);
  oracle = await oracleDocuments(db.pool);
});

function parsed(rows: Array<{ id: string; document: string }>): Map<string, Document> {
  return new Map(rows.map((r) => [r.id, parseJson(r.document) as Document]));
}

/** COPY (...) TO STDOUT (format binary) of (id text, document text) rows. */
async function copyPairs(
  pool: pg.Pool,
  sql: string,
): Promise<Array<{ id: string; document: string }>> {
  const client = await pool.connect();
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of client.query(copyTo(sql))) chunks.push(chunk as Buffer);
    const buf = Buffer.concat(chunks);
    const out: Array<{ id: string; document: string }> = [];
    let at = 19; // signature (11) + flags (4) + header extension length (4)
    while (buf.readInt16BE(at) !== -1) {
      at += 2;
      const vals: string[] = [];
      for (let i = 0; i < 2; i++) {
        const len = buf.readInt32BE(at);
        at += 4;
        vals.push(buf.toString("utf8", at, at + len));
        at += len;
      }
      out.push({ id: vals[0]!, document: vals[1]! });
    }
    return out;
  } finally {
    client.release();
  }
}

describe("renderSpecSql equals the hand-written oracle", () => {
  it("the oracle covers the fixture's edge cases", () => {
    expect([...oracle.keys()]).toEqual(["1", "2", "3", "6", "7"]);
    expect(oracle.get("1")?.variants).toHaveLength(3);
    expect(oracle.get("3")).not.toHaveProperty("brand_name");
    expect(oracle.get("3")?.variants).toEqual([]);
  });

  it("whole: every document passing the filter", async () => {
    const r = await db.pool.query<{ id: string; document: string }>(renderSpecSql(resolved).whole);
    expect(parsed(r.rows)).toEqual(oracle);
  });

  it("byIds: the ids whose root row exists and passes the filter (others are deletions)", async () => {
    const ids = ["1", "2", "3", "4", "5", "6", "7", "8"];
    const r = await db.pool.query<{ id: string; document: string }>(renderSpecSql(resolved).byIds, [
      ids,
    ]);
    expect(parsed(r.rows)).toEqual(oracle);
    const one = await db.pool.query<{ id: string; document: string }>(
      renderSpecSql(resolved).byIds,
      [["6"]],
    );
    expect(parsed(one.rows)).toEqual(new Map([["6", oracle.get("6")]]));
  });

  it("range and its COPY: the window's rows between two ids that pass the filter", async () => {
    const sql = renderSpecSql(resolved);
    const expected = new Map([...oracle].filter(([id]) => Number(id) >= 2 && Number(id) <= 6));
    const r = await db.pool.query<{ id: string; document: string }>(sql.range, ["2", "6"]);
    expect(parsed(r.rows)).toEqual(expected);
    expect(parsed(await copyPairs(db.pool, sql.rangeCopy("2", "6")))).toEqual(expected);
  });
});
