import type pg from "pg";
import { DocumentSpec } from "../src/db/repositories/document-spec.js";

/*
 * The document spec benches' source (issue 15 point 7): products (the root)
 * with one lookup (brands) and one child table (variants, 5 per product)
 * that has a lookup of its own (colors). Brand 1 is shared by the first
 * `fanout` roots (the fan-out case), the others spread over 999 brands.
 */
export async function fillShop(pool: pg.Pool, roots: number, fanout: number): Promise<void> {
  await pool.query(`
    create table brands (id int4 primary key, name text not null);
    create table colors (code text primary key, label text not null);
    create table products (id int8 primary key, title text not null, price numeric(10,2), brand_id int4);
    create table variants (id int8 primary key, product_id int8 not null, sku text not null,
      color_code text, position int4 not null, stock int4 not null);
    create index on variants (product_id);
    create index on products (brand_id);
    alter table variants replica identity full;
    insert into brands select g, 'brand ' || g from generate_series(1, 1000) g;
    insert into colors select 'c' || g, 'color ' || g from generate_series(1, 20) g;
  `);
  await pool.query(
    `insert into products select g, 'product ' || g, (g % 1000) + 0.99,
       case when g <= $2 then 1 else 2 + g % 999 end
       from generate_series(1, $1::int8) g`,
    [roots, fanout],
  );
  await pool.query(
    `insert into variants select g, 1 + (g - 1) / 5, 'sku-' || g, 'c' || (1 + g % 20), g % 5, 10
       from generate_series(1, $1::int8 * 5) g`,
    [roots],
  );
  await pool.query("analyze");
}

/** The spec of the benches' job: a computed sort field, the brand lookup, variants as objects with their color. */
export const SHOP_BENCH_SPEC = DocumentSpec.parse({
  fields: [
    { name: "title", column: "title" },
    { name: "price_cents", sql: "round(price * 100)::bigint", sort: true },
  ],
  lookups: [
    {
      name: "brand",
      table: "brands",
      on: { brand_id: "id" },
      fields: [{ name: "brand_name", column: "name", facet: true }],
    },
  ],
  children: [
    {
      name: "variants",
      table: "variants",
      on: { id: "product_id" },
      order_by: "position",
      limit: 10,
      shape: "objects",
      fields: [
        { name: "sku", column: "sku" },
        { name: "stock", column: "stock" },
      ],
      lookups: [
        {
          name: "color",
          table: "colors",
          on: { color_code: "code" },
          fields: [{ name: "color", column: "label", facet: true }],
        },
      ],
    },
  ],
});

/** The job the spec is resolved for. */
export const SHOP_BENCH_JOB = {
  schema: "public",
  table: "products",
  documentIdColumn: "id",
  includedColumns: [],
  queryableFields: ["title"],
};
