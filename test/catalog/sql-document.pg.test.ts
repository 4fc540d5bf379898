import { beforeAll, describe, expect, it } from "vitest";
import { describeTable, type TableInfo } from "../../src/catalog/index.js";
import {
  createDocumentMapper,
  type DocumentMapper,
  type DocumentMapperOptions,
} from "../../src/documents/index.js";
import { parseJson, serializeDocument } from "../../src/json/codec.js";
import type { DocumentValue } from "../../src/typesense/types.js";
import { EVERY_TYPE_DDL, EVERY_TYPE_ROWS } from "../support/every-type.js";
import { useTestDatabase } from "../support/pg.js";

/*
 * Oracle for full sync's SQL-rendered documents (src/documents/sql-document.ts):
 * for every column the renderer accepts, Postgres' document text, parsed with
 * the exact int64 parser, must equal rowToDocument's document of the same row
 * (canonical form: sorted keys, bigint as digits), in several session time
 * zones. Columns it refuses must be exactly the expected ones (a new
 * rendering shows up here and must come with its edge values).
 */

const db = useTestDatabase({ migrate: false });

// 2^1024 - 2^970 (rounds to Infinity) and its neighbours, 2^53 + 1, ...
const OVER = (2n ** 1024n - 2n ** 970n).toString();
const UNDER = (2n ** 1024n - 2n ** 970n - 1n).toString();

const EDGE_DDL = `
  create domain txtdom as varchar(10) check (value <> 'x');
  create table edge_values (
    id text primary key,
    n numeric, f4 float4, f8 float8, i8 int8, b bool, ch char(4), ct citext, m mood,
    d date, ts timestamp, tstz timestamptz, iv interval, dom posint,
    na numeric[], f4a float4[], ba bool[], taa text[], cha char(3)[], ua uuid[], ma mood[],
    tsa timestamp[], da date[], i8aa int8[][], cta citext[], doma posint[], i2a int2[],
    nb numeric(10,2), n15 numeric(15,0), n16 numeric(16,0), nneg numeric(3,-2), vc varchar(8),
    dt txtdom
  );
`;

const EDGE_ROWS = `
  insert into edge_values (id, n) values
    ('n1', 0), ('n2', -0.0), ('n3', 123.4500), ('n4', 999999999999999), ('n5', 1000000000000000),
    ('n6', 9007199254740993), ('n7', -9007199254740993), ('n8', 12345678901234567890123),
    ('n9', 9007199254740993.5), ('n10', '1e-400'), ('n11', '-1e-400'), ('n12', '${OVER}'),
    ('n13', '${UNDER}'), ('n14', '-${OVER}'), ('n15', 'Infinity'), ('n16', 'NaN'),
    ('n17', 0.1), ('n18', '1.7976931348623157e308'), ('n19', 4.9e-324), ('n20', 2.5e-324),
    ('n21', 123456789012345678901234567890.5), ('n22', -1), ('n23', 0.000001);
  insert into edge_values (id, f4, f8) values
    ('f1', 'NaN', 'NaN'), ('f2', '-Infinity', 'Infinity'), ('f3', 3.4e38, 1.7976931348623157e308),
    ('f4', 1e-45, 5e-324), ('f5', '-0', '-0'), ('f6', 1.1, 1.1), ('f7', 16777217, 9007199254740993),
    ('f8', 1e15, 1e15), ('f9', 123456.7, 1e16), ('f10', -2.5e-10, 1e21);
  insert into edge_values (id, i8, b, ch, ct, m, iv, dom) values
    ('s1', 9223372036854775807, true, 'a', 'MiXeD', 'happy', '-1 day 02:00', 1),
    ('s2', -9223372036854775808, false, 'abcd', 'tab	"q" \\ ✓', 'it''s, "complicated"', '0', 2147483647),
    ('s3', 9007199254740993, null, '', '', null, '1 mon', null),
    ('s4', 9007199254740992, true, 'ü', E'\\u0001ctl\\n', 'happy', null, 7);
  insert into edge_values (id, d, ts, tstz) values
    ('t1', '2024-02-29', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.999999+05:30'),
    ('t2', 'infinity', 'infinity', 'infinity'), ('t3', '-infinity', '-infinity', '-infinity'),
    ('t4', '0044-03-15 BC', '0001-01-01 00:00:00 BC', '0001-01-01 00:00:00+00 BC'),
    ('t5', '0099-12-31', '0099-12-31 23:59:59.9999', '0050-06-01 12:00:00+00'),
    ('t6', '1969-12-31', '1969-12-31 23:59:59.9995', '1969-12-31 23:59:59.000001+00'),
    ('t7', '275760-09-13', '275760-09-13 00:00:00', '275760-09-13 00:00:00+00'),
    ('t8', '275760-09-14', '275760-09-13 00:00:01', '275760-09-13 00:00:00.5+00'),
    ('t9', '4713-11-24 BC', '4713-11-24 00:00:00 BC', '4713-11-24 00:00:00+00 BC'),
    ('t10', '0001-12-31 BC', '4713-11-24 23:59:59.999 BC', '1000-01-01 00:00:00+00'),
    ('t11', '5874897-12-31', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00'),
    ('t12', '1000-01-01', '1835-01-01 00:00:00', '1835-01-01 00:00:00+00'),
    ('t13', '4713-01-01 BC', '999-12-31 23:59:59.999999', '1901-12-13 20:45:52.123+00'),
    ('t14', '2000-01-01', '2000-01-01 00:00:00.5', '2000-01-01 00:00:00.5-03:30'),
    ('t15', '275760-09-12', '275760-09-13 00:00:00.999999', '275760-09-13 00:00:00.999999+00'),
    ('t16', null, '275760-09-12 23:59:59.999', '275760-09-13 05:30:00.5+05:30'),
    ('t17', null, null, '275760-09-13 05:30:01+05:30');
  -- numeric(p,s) with p - s <= 15 skips the range checks (NaN only); n16 does not
  insert into edge_values (id, nb, n15, n16, nneg, vc, dt) values
    ('b1', 'NaN', 999999999999999, 9999999999999999, 99900, E'tab\t"q"', 'ü'),
    ('b2', 12345678.99, -999999999999999, 1000000000000000, -12345, '\\ ✓', E'\u0001'),
    ('b3', -0.01, 0, -1234567890123456, 0, '', ''),
    ('b4', 0.5, null, 'NaN', null, null, null);
  insert into edge_values (id, na, f4a, ba, taa, cha, ua, ma, tsa, da, i8aa, cta, doma, i2a) values
    ('a1', '{1.5,NaN,Infinity,null,12345678901234567890,-0.5}', '{1.5,NaN,null,-Infinity,3.4e38}',
     '{t,null,f}', '{{a,"b c"},{null,"\\"q\\""}}', '{a,null,abc}',
     '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,null}', '{happy,null,"it''s, \\"complicated\\""}',
     '{infinity,"2024-01-01 10:00:00.1234",null,"0001-01-01 00:00:00 BC"}',
     '{-infinity,2024-02-29,null}', '{{9223372036854775807,null},{1,-9223372036854775808}}',
     '{MiXeD,null}', '{1,null,2}', '{1,null,-32768}'),
    ('a2', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
    ('a3', '{null}', '{null}', '{null}', '{null,null}', '{null}', '{null}', '{null}', '{null}',
     '{null}', '{{null,null}}', '{null}', '{null}', '{null}'),
    ('a4', '[0:1]={1,2}', '{{1,2},{3,4}}', '{{t},{f}}', '{"x"}', '{"ab "}', null, '{}',
     '{"1969-12-31 23:59:59.9995"}', '{"0044-03-15 BC"}', '{{1},{2}}', '{""}', null, '{{1,2},{3,4}}');
`;

// Columns (of either table) the renderer refuses: the JS path stays for jobs using them.
const NOT_RENDERED = ["j", "jb", "pt", "jba", "bx"].sort();

let everyType: TableInfo;
let edges: TableInfo;

beforeAll(async () => {
  await db.pool.query(EVERY_TYPE_DDL);
  await db.pool.query(EVERY_TYPE_ROWS);
  await db.pool.query(EDGE_DDL);
  await db.pool.query(EDGE_ROWS);
  everyType = await describeTable(db.pool, { schema: "public", table: "every_type" });
  edges = await describeTable(db.pool, { schema: "public", table: "edge_values" });
});

/** Sorted keys, bigint as digits, -0 as 0: what a JSON reader of the line sees. */
function canonical(v: DocumentValue): string {
  const sort = (x: DocumentValue): DocumentValue => {
    if (x === null || typeof x !== "object") return x;
    if (Array.isArray(x)) return x.map(sort);
    const out: Record<string, DocumentValue> = {};
    for (const k of Object.keys(x).sort()) out[k] = sort(x[k] as DocumentValue);
    return out;
  };
  return serializeDocument(sort(v));
}

async function compare(table: TableInfo, mapper: DocumentMapper, timeZone: string) {
  const expression = mapper.documentSql.expression;
  if (expression === null) throw new Error("not renderable");
  const c = await db.pool.connect();
  try {
    await c.query(`set timezone = '${timeZone}'`);
    const r = await c.query<Record<string, string | null>>(
      `select ${mapper.selectList}, ${expression} as __doc from ${table.table} order by id`,
    );
    expect(r.rows.length).toBeGreaterThan(3);
    for (const row of r.rows) {
      const js = canonical(mapper.rowToDocument(row));
      const sql = canonical(parseJson(row.__doc as string));
      expect({ id: row.id, sql }).toEqual({ id: row.id, sql: js });
    }
  } finally {
    c.release();
  }
}

function mapperFor(table: TableInfo, columns: string[], options?: DocumentMapperOptions) {
  return createDocumentMapper(table, {
    documentIdColumn: "id",
    includedColumns: columns,
    queryableFields: [],
    options,
  });
}

const ZONES = ["UTC", "Europe/Amsterdam", "America/St_Johns", "Asia/Kathmandu"];

describe("SQL-rendered documents equal rowToDocument", () => {
  it("refuses exactly the columns without a proven rendering", () => {
    const refused: string[] = [];
    for (const t of [everyType, edges]) {
      for (const c of t.columns) {
        if (c.name === "id" || c.generated) continue;
        if (mapperFor(t, [c.name]).documentSql.expression === null) refused.push(c.name);
      }
    }
    expect(refused.sort()).toEqual(NOT_RENDERED);
  });

  for (const which of ["every_type", "edge_values"] as const) {
    it(`${which}: every renderable column, every row, in several time zones`, async () => {
      const t = which === "every_type" ? everyType : edges;
      const cols = t.columns
        .filter((c) => c.name !== "id" && !c.generated && !NOT_RENDERED.includes(c.name))
        .map((c) => c.name);
      const mapper = mapperFor(t, cols);
      expect(mapper.documentSql.expression).not.toBeNull();
      for (const tz of ZONES) await compare(t, mapper, tz);
    });
  }

  it("json/jsonb as strings render; as objects, _iso fields and drop listeners fall back", async () => {
    const asString = mapperFor(everyType, ["j", "jb", "t"], { json: "string" });
    await compare(everyType, asString, "UTC");
    expect(mapperFor(everyType, ["j"]).documentSql).toMatchObject({ expression: null });
    expect(
      mapperFor(everyType, ["tstz"], { isoTimestamps: true }).documentSql.expression,
    ).toBeNull();
    expect(
      mapperFor(everyType, ["i4"], { onDroppedValue: () => {} }).documentSql.expression,
    ).toBeNull();
  });

  it("ids of every specialised type (int, uuid, varchar, a domain) render like rowToDocument", async () => {
    await db.pool.query(`
      create table id_i4 (id int4 primary key, v text);
      create table id_uuid (id uuid primary key, v text);
      create table id_vc (id varchar(12) primary key, v text);
      create table id_dom (id txtdom primary key, v text);
      insert into id_i4 values (-2147483648, 'a'), (0, null), (2147483647, 'c'), (7, '');
      insert into id_uuid values ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a'),
        ('00000000-0000-0000-0000-000000000000', null), ('ffffffff-ffff-ffff-ffff-ffffffffffff', 'c'),
        ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12', '');
      insert into id_vc values (E'q"\\\\\\t', 'a'), ('日本 ✓', null), ('plain', 'c'), ('', '');
      insert into id_dom values (E'q"\\\\', 'a'), ('ü', null), ('plain', 'c'), ('', '');
    `);
    for (const name of ["id_i4", "id_uuid", "id_vc", "id_dom"]) {
      const t = await describeTable(db.pool, { schema: "public", table: name });
      await compare(t, mapperFor(t, ["v"]), "UTC");
    }
  });

  it("the bigint beyond 2^53 survives as digits (not rounded)", async () => {
    const mapper = mapperFor(edges, ["i8"]);
    const r = await db.pool.query<{ d: string }>(
      `select ${mapper.documentSql.expression} as d from edge_values where id = 's3'`,
    );
    expect(r.rows[0]!.d).toContain("9007199254740993");
    expect(parseJson(r.rows[0]!.d)).toEqual({ id: "s3", i8: 9007199254740993n });
  });
});
