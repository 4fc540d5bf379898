import { beforeAll, describe, expect, it } from "vitest";
import { renderSpecSql, resolveDocumentSpec } from "../../../src/documents/index.js";
import { parseJson } from "../../../src/json/codec.js";
import { useTestDatabase } from "../../support/pg.js";

/*
 * Renderings beside the shop fixture, each against a hand-written oracle:
 * type overrides (widening, scalar -> output text), expressions of several
 * types, a lookup on a two-column key, a child without order_by (primary key
 * order), and a lookup nested in a lookup.
 */

const db = useTestDatabase({ migrate: false });

beforeAll(async () => {
  await db.pool.query(`
    create table regions (id int4 primary key, name text);
    create table shops (id int4 primary key, name text, region_id int4);
    create table prices (product_id int4, currency text, amount numeric(10,2), primary key (product_id, currency));
    create table listings (
      id int4 primary key, product_id int4, currency text, shop_id int4, qty int4,
      price numeric(10,2), listed_at timestamptz, flags bool[]
    );
    create table notes (id int4 primary key, listing_id int4 not null, body text);
    insert into regions values (1, 'North'), (2, null);
    insert into shops values (1, 'Main St', 1), (2, 'Dock', 2), (3, 'Annex', 9);
    insert into prices values (1, 'EUR', 10.50), (1, 'USD', 11.00), (2, 'EUR', null);
    insert into listings values
      (1, 1, 'EUR', 1, 3, 1.25, '2024-02-29 13:14:15.5+00', '{t,null,f}'),
      (2, 1, 'USD', 2, null, null, null, null),
      (3, 2, 'EUR', 3, 7, 99999999.99, '1969-12-31 23:59:59.9995+00', '{}'),
      (4, 3, 'GBP', null, 0, 0, 'infinity', null);
    insert into notes values (3, 1, 'c'), (1, 1, 'a'), (2, 1, null), (4, 3, 'd');
  `);
});

const JOB = {
  schema: "public",
  table: "listings",
  documentIdColumn: "id",
  includedColumns: [],
  queryableFields: [],
};

const ORACLE = `
  select l.id::text as id, jsonb_strip_nulls(jsonb_build_object(
    'id', l.id::text,
    'qty64', l.qty, 'qtyf', l.qty,
    'price_s', to_jsonb(l.price::text), 'id_s', to_jsonb(l.id::text),
    'listed_ms', case when l.listed_at = 'infinity' then null else floor(extract(epoch from l.listed_at) * 1000)::bigint end,
    'flags', to_jsonb(array_remove(l.flags, null)),
    'twice', l.qty * 2,
    'amount', p.amount,
    'shop', s.name, 'region', r.name,
    'notes', coalesce((select jsonb_agg(n.body order by n.id) filter (where n.body is not null) from (select * from notes x where x.listing_id = l.id order by x.id limit 2) n), '[]'::jsonb)
  ))::text as document
  from listings l
  left join prices p on p.product_id = l.product_id and p.currency = l.currency
  left join shops s on s.id = l.shop_id
  left join regions r on r.id = s.region_id
  order by l.id
`;

describe("renderings against hand-written oracles", () => {
  it("overrides, expressions, a two-column lookup key, a nested lookup, a child in key order", async () => {
    const resolved = await resolveDocumentSpec(db.pool, JOB, {
      fields: [
        { name: "qty64", column: "qty", type: "int64" },
        { name: "qtyf", column: "qty", type: "float" },
        { name: "price_s", column: "price", type: "string" },
        { name: "id_s", column: "id", type: "string" },
        { name: "listed_ms", column: "listed_at" },
        { name: "flags", column: "flags" },
        { name: "twice", sql: "qty * 2" },
      ],
      lookups: [
        {
          name: "price",
          table: "prices",
          on: { product_id: "product_id", currency: "currency" },
          fields: [{ name: "amount", column: "amount" }],
        },
        {
          name: "shop",
          table: "shops",
          on: { shop_id: "id" },
          fields: [{ name: "shop", column: "name" }],
          lookups: [
            {
              name: "region",
              table: "regions",
              on: { region_id: "id" },
              fields: [{ name: "region", column: "name" }],
            },
          ],
        },
      ],
      children: [
        {
          name: "notes",
          table: "notes",
          on: { id: "listing_id" },
          limit: 2,
          shape: "arrays",
          fields: [{ name: "body", column: "body" }],
        },
      ],
    });
    const schema = resolved.collectionSchema("c");
    expect(schema.fields.map((f) => [f.name, f.type])).toEqual([
      ["qty64", "int64"],
      ["qtyf", "float"],
      ["price_s", "string"],
      ["id_s", "string"],
      ["listed_ms", "int64"],
      ["flags", "bool[]"],
      ["twice", "int32"],
      ["amount", "float"],
      ["shop", "string"],
      ["region", "string"],
      ["notes_body", "string[]"],
    ]);
    const got = await db.pool.query<{ id: string; document: string }>(
      `${renderSpecSql(resolved).whole} order by 1`,
    );
    const want = await db.pool.query<{ id: string; document: string }>(ORACLE);
    // the oracle's arrays shape child is named notes; the spec's notes_body
    const expected = want.rows.map((r) => {
      const d = parseJson(r.document) as Record<string, unknown>;
      d.notes_body = d.notes;
      delete d.notes;
      return d;
    });
    expect(got.rows.map((r) => parseJson(r.document))).toEqual(expected);
  });
});
