import { beforeAll, describe, expect, it } from "vitest";
import { CatalogError, describeTable, type TableInfo } from "../../src/catalog/index.js";
import {
  createDocumentMapper,
  type DocumentMapper,
  type DroppedValue,
} from "../../src/documents/index.js";
import { createWindowReader } from "../../src/documents/window-reader.js";
import { serializeDocument } from "../../src/json/codec.js";
import type { Document } from "../../src/typesense/types.js";
import { BIG_TEXT, EVERY_TYPE_DDL, EVERY_TYPE_ROWS } from "../support/every-type.js";
import { useTestDatabase } from "../support/pg.js";
import { readInsertedTuples } from "./pgoutput-decode.js";

const db = useTestDatabase({ migrate: false });

const INT8_MAX = 9223372036854775807n;
const INT8_MIN = -9223372036854775808n;

const DDL = `${EVERY_TYPE_DDL}
  create publication every_pub for table every_type;
`;

// Inserted after the slot exists so pgoutput sees every row. The test server
// runs with synchronous_commit=off, and logical decoding only reads flushed WAL.
const ROWS = EVERY_TYPE_ROWS.replace("begin;", "begin;\n  set local synchronous_commit = on;");

const at = (...a: [number, number, number, number?, number?, number?, number?]) =>
  Date.UTC(a[0], a[1] - 1, a[2], a[3] ?? 0, a[4] ?? 0, a[5] ?? 0, a[6] ?? 0);

function yearDate(year: number, month: number, day: number, h = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, 0, 0, 0);
  return d.getTime();
}

const EXPECTED: Document[] = [
  { id: "1" },
  {
    id: "2",
    i2: 32767,
    i4: -2147483648,
    i8: INT8_MAX,
    // numeric rounds to the nearest float8
    num: Number("12345678901234567890.123456789"),
    f4: 1.5,
    f8: 0.1,
    b: true,
    t: "héllo wörld ✓ 日本語 🎉",
    vc: "short",
    ch: "ab   ",
    ct: "MiXeD",
    u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    nm: "pg_name",
    m: `it's, "complicated"`,
    d: at(2024, 2, 29),
    ts: at(2024, 2, 29, 13, 14, 15, 123),
    tstz: at(2024, 2, 29, 7, 44, 15, 999),
    j: { a: [1, 2, { b: null }], big: 12345678901234567890n },
    jb: { arr: [true, false], nested: { deep: { x: "y" } } },
    pt: [52.5, 13.4],
    i4a: [1, 3],
    ta: ["a,b", 'quote"d', "back\\slash", "", "NULL", " spaced ", "{x}"],
    i8a: [INT8_MAX, INT8_MIN, 1],
    f8a: [1.5],
    tsa: [at(2024, 1, 1), -1],
    jba: [{ k: 1 }, { k: [2] }],
    i4aa: [1, 2, 3, 4],
    iv: "1 year 2 mons 3 days 04:05:06",
    by: "\\xdeadbeef",
    ip: "192.168.0.1",
    tv: "'a' 'cat' 'fat'",
    rng: "[1,10)",
    bx: ["(1,1),(0,0)", "(3,3),(2,2)"],
    dom: 5,
    doma: [1, 2],
  },
  {
    id: "3",
    i2: -32768,
    i4: 2147483647,
    i8: INT8_MIN,
    b: false,
    t: BIG_TEXT,
    vc: "emoji 🎉",
    tstz: at(1900, 1, 1),
    i4a: [],
    ta: [],
    tsa: [],
    jba: [],
  },
  { id: "4", f8: -0, d: yearDate(-43, 3, 15), tstz: at(2000, 1, 1, 3, 30, 0, 500), ch: "abcde" },
  { id: "5", j: { n: -12345678901234567890n, s: "é" } },
];

const EXPECTED_DROPS = [
  "2 f8a",
  "2 tsa",
  "3 num",
  "3 f4",
  "3 f8",
  "3 d",
  "3 ts",
  "3 j",
  "3 jb",
  "3 pt",
  "4 num",
  "4 ts",
  "5 num",
];

let table: TableInfo;
let textTuples: Array<Record<string, string | null | undefined>>;

beforeAll(async () => {
  await db.pool.query(DDL);
  await db.pool.query(`select pg_create_logical_replication_slot('every_slot', 'pgoutput')`);
  await db.pool.query(ROWS);
  const c = await db.pool.connect();
  try {
    // A session time zone with a historic LMT offset: pgoutput text differs from
    // the select below (which runs in UTC), documents must not.
    await c.query("set timezone = 'Europe/Amsterdam'");
    textTuples = await readInsertedTuples(c, "every_slot", "every_pub");
    await c.query("select pg_drop_replication_slot('every_slot')");
  } finally {
    c.release();
  }
  table = await describeTable(db.pool, { schema: "public", table: "every_type" });
});

async function readDocuments(mapper: DocumentMapper, timeZone: string): Promise<Document[]> {
  const c = await db.pool.connect();
  try {
    await c.query(`set timezone = '${timeZone}'`);
    const res = await c.query<Record<string, string | null>>(
      `select ${mapper.selectList} from every_type order by id`,
    );
    return res.rows.map((r) => mapper.rowToDocument(r));
  } finally {
    c.release();
  }
}

describe("rowToDocument over every mapped type", () => {
  it("builds the exact documents from selectList text, in any session time zone", async () => {
    const drops: DroppedValue[] = [];
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: ["t", "ta"],
      options: { onDroppedValue: (d) => drops.push(d) },
    });
    for (const tz of ["UTC", "Asia/Kathmandu", "America/St_Johns"]) {
      drops.length = 0;
      const docs = await readDocuments(mapper, tz);
      expect(docs).toEqual(EXPECTED);
      expect(drops.map((d) => `${d.documentId} ${d.column}`)).toEqual(EXPECTED_DROPS);
    }
  });

  it("builds identical documents from pgoutput's text tuples (CDC path)", () => {
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    expect(textTuples.map((r) => mapper.rowToDocument(r))).toEqual(EXPECTED);
    // Same bytes on the wire too (bigints as raw digits).
    const serialized = textTuples.map((r) => serializeDocument(mapper.rowToDocument(r)));
    expect(serialized[1]).toContain('"i8":9223372036854775807,');
    expect(serialized[1]).toContain('"i8a":[9223372036854775807,-9223372036854775808,1]');
  });

  it("selectList returns the output-function text, not the ::text cast", async () => {
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: ["b", "ch", "ip"],
      queryableFields: [],
    });
    const res = await db.pool.query(`select ${mapper.selectList} from every_type where id = 2`);
    expect(res.rows[0]).toEqual({ id: "2", b: "t", ch: "ab   ", ip: "192.168.0.1" });
    const tuple = textTuples[1] ?? {};
    expect([tuple.b, tuple.ch, tuple.ip]).toEqual(["t", "ab   ", "192.168.0.1"]);
  });
});

describe("full sync's COPY window read", () => {
  it("yields byte-identical documents to the selectList query and pgoutput", async () => {
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    const reader = createWindowReader({ source: db.pool, mapper });
    const ids = ["1", "2", "3", "4", "5"];
    const viaCopy = await reader.readOrdered(ids);
    const viaQuery = await reader.readOrdered(ids, { query: (t, v) => db.pool.query(t, v) });
    const bytes = (docs: Iterable<Document>) => [...docs].map((d) => serializeDocument(d));
    expect(bytes(viaCopy.documents.values())).toEqual(bytes(viaQuery.documents.values()));
    expect(bytes(viaCopy.documents.values())).toEqual(
      bytes(textTuples.map((r) => mapper.rowToDocument(r))),
    );
    expect([...viaCopy.documents.values()]).toEqual(EXPECTED);
  });

  it("decodes COPY escapes: tabs, newlines, backslashes, a literal \\N, control characters", async () => {
    await db.pool.query(`create table copy_escapes (id text primary key, v text, a text[])`);
    const values = [
      "tab\there",
      "new\nline\r\n",
      "back\\slash \\N",
      "\\N",
      "",
      "ctl \x01\x08\x0b\x0c\x7f",
      "日本語 🎉 é",
    ];
    await db.pool.query(
      `insert into copy_escapes
       select 'k' || i, v, array[v, null, 'x'] from unnest($1::text[]) with ordinality as t(v, i)`,
      [values],
    );
    await db.pool.query("insert into copy_escapes values ($1, null, null)", ["id\t\\x'q"]);
    const t = await describeTable(db.pool, { schema: "public", table: "copy_escapes" });
    const mapper = createDocumentMapper(t, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    const reader = createWindowReader({ source: db.pool, mapper });
    const ids = (
      await db.pool.query<{ id: string }>("select id from copy_escapes order by id")
    ).rows.map((r) => r.id);
    const viaCopy = await reader.readOrdered(ids);
    const viaQuery = await reader.readOrdered(ids, { query: (q, v) => db.pool.query(q, v) });
    expect(viaCopy.documents.size).toBe(values.length + 1);
    expect([...viaCopy.documents.values()]).toEqual([...viaQuery.documents.values()]);
    expect(viaCopy.documents.get("k1")?.v).toBe("tab\there");
    expect(viaCopy.documents.get("k4")?.v).toBe("\\N");
    expect(viaCopy.documents.get("k5")?.v).toBe("");
    expect(viaCopy.documents.get("id\t\\x'q")).toEqual({ id: "id\t\\x'q" });
    expect(viaCopy.documents.get("k2")?.a).toEqual(["new\nline\r\n", "x"]);
  });
});

describe("createDocumentMapper", () => {
  const job = {
    documentIdColumn: "id",
    includedColumns: [] as string[],
    queryableFields: [] as string[],
  };

  it("declares optional fields, indexes queryable ones, skips generated columns and never emits an id field", () => {
    const mapper = createDocumentMapper(table, {
      ...job,
      includedColumns: ["t", "i8", "jb", "ts", "pt", "tsa"],
      queryableFields: ["ta"],
      options: { indexOtherFields: false, isoTimestamps: true },
    });
    expect(mapper.collectionSchema("c1")).toEqual({
      name: "c1",
      enable_nested_fields: true,
      fields: [
        { name: "i8", type: "int64", optional: true, index: false, facet: false },
        { name: "t", type: "string", optional: true, index: false, facet: false },
        { name: "ts", type: "int64", optional: true, index: false, facet: false },
        { name: "ts_iso", type: "string", optional: true, index: false, facet: false },
        { name: "jb", type: "object", optional: true, index: false, facet: false },
        { name: "pt", type: "geopoint", optional: true, index: false, facet: false },
        { name: "ta", type: "string[]", optional: true, index: true, facet: false },
        { name: "tsa", type: "int64[]", optional: true, index: false, facet: false },
        { name: "tsa_iso", type: "string[]", optional: true, index: false, facet: false },
      ],
    });
    expect(mapper.columns.map((c) => c.name)).toEqual([
      "id",
      "i8",
      "t",
      "ts",
      "jb",
      "pt",
      "ta",
      "tsa",
    ]);
    expect(mapper.idIsUnique).toBe(true);
    const all = createDocumentMapper(table, job);
    expect(all.fields.map((f) => f.name)).not.toContain("gen");
    expect(all.fields.map((f) => f.name)).not.toContain("id");
    expect(all.collectionSchema("x").enable_nested_fields).toBe(true);
  });

  it("writes ISO strings next to timestamps and explicit nulls for partial writes", () => {
    const mapper = createDocumentMapper(table, {
      ...job,
      includedColumns: ["d", "ts", "tstz", "tsa", "f8", "j"],
      options: { isoTimestamps: true, json: "string" },
    });
    const row = {
      id: "9",
      d: "0044-03-15 BC",
      ts: "2024-02-29 13:14:15.5",
      tstz: "1900-01-01 00:19:32+00:19:32",
      tsa: '{"2024-01-01 00:00:00.000001+00",NULL}',
      f8: "NaN",
      j: '{"a": 1}',
    };
    expect(mapper.rowToDocument(row)).toEqual({
      id: "9",
      d: yearDate(-43, 3, 15),
      d_iso: "-000043-03-15",
      ts: at(2024, 2, 29, 13, 14, 15, 500),
      ts_iso: "2024-02-29T13:14:15.5",
      tstz: at(1900, 1, 1),
      tstz_iso: "1900-01-01T00:00:00Z",
      tsa: [at(2024, 1, 1)],
      tsa_iso: ["2024-01-01T00:00:00.000001Z"],
      j: '{"a": 1}',
    });
    expect(
      mapper.rowToDocument({ id: "9", d: null, ts: undefined, f8: "NaN" }, { explicitNulls: true }),
    ).toEqual({
      id: "9",
      d: null,
      d_iso: null,
      f8: null,
    });
  });

  it("names the column in every validation error", () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(CatalogError);
        return (e as Error).message;
      }
      throw new Error("expected a CatalogError");
    };
    expect(err(() => createDocumentMapper(table, { ...job, documentIdColumn: "nope" }))).toBe(
      '"public"."every_type" column "nope": does not exist',
    );
    expect(
      err(() => createDocumentMapper(table, { ...job, includedColumns: ["t", "missing"] })),
    ).toBe('"public"."every_type" column "missing": does not exist');
    expect(err(() => createDocumentMapper(table, { ...job, queryableFields: ["i4"] }))).toBe(
      '"public"."every_type" column "i4": is queryable but maps to Typesense int32 (integer); query_by needs string or string[]',
    );
    expect(err(() => createDocumentMapper(table, { ...job, includedColumns: ["gen"] }))).toMatch(
      /column "gen": is a generated column/,
    );
    expect(err(() => createDocumentMapper(table, { ...job, documentIdColumn: "u" }))).toMatch(
      /column "id": collides with the Typesense document id \(taken from "u"\)/,
    );
    const byU = createDocumentMapper(table, {
      ...job,
      documentIdColumn: "u",
      includedColumns: ["t"],
    });
    expect(byU.idIsUnique).toBe(true);
    expect(err(() => byU.rowToDocument({ id: "1", u: null, t: "x" }))).toMatch(
      /column "u": is NULL/,
    );
  });
});
