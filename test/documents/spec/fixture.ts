import type pg from "pg";
import type { DocumentSpecInput } from "../../../src/db/repositories/document-spec.js";
import type { SpecJob } from "../../../src/documents/index.js";
import { parseJson } from "../../../src/json/codec.js";
import type { Document } from "../../../src/typesense/types.js";

/**
 * products (root) -> brands (lookup), variants (child, twice: objects and
 * arrays) -> colors (a second-level lookup under the child). With NULLs, a
 * brand_id that matches no brand, a root without children, a child limit cut,
 * ties in order_by (inserted against primary key order), and rows the filter leaves out.
 */
export const SHOP_DDL = `
  create table brands (id int4 primary key, name text, country text);
  create table colors (code text primary key, label text);
  create table products (
    id int8 primary key, title text not null, category text, price numeric(10,2),
    brand_id int4, status text not null default 'published', deleted_at timestamptz,
    tags text[], rating float8, meta jsonb
  );
  create table variants (
    id int4 primary key, product_id int8 not null, sku text not null, color_code text,
    position int4 not null, stock int4
  );
  insert into brands values (1, 'Acme', 'US'), (2, 'Globex', null), (3, null, 'DE');
  insert into colors values ('red', 'Red'), ('blu', 'Blue'), ('nul', null);
  insert into products (id, title, category, price, brand_id, status, deleted_at, tags, rating, meta) values
    (1, 'Chair "deluxe"', 'furniture', 19.99, 1, 'published', null, '{a,null,b}', 4.5, '{"w": 3}'),
    (2, 'Table', 'furniture', 100.00, 2, 'published', null, null, null, '[1]'),
    (3, 'Lamp', null, null, 99, 'published', null, '{}', 0.1, null),
    (4, 'Ghost', 'x', 1, 1, 'draft', null, null, null, null),
    (5, 'Old', 'x', 2, 1, 'published', now(), null, null, null),
    (6, 'Solo ✓', 'misc', 5, null, 'published', null, null, 'NaN', null),
    (7, 'Nameless brand', 'misc', 7.5, 3, 'published', null, null, -0.25, null);
  insert into variants values
    (13, 1, 'C-2a', 'zzz', 2, 1), (10, 1, 'C-3', 'red', 3, 5), (11, 1, 'C-1', 'blu', 1, null),
    (14, 1, 'C-4', 'nul', 4, 2), (12, 1, 'C-2b', null, 2, 0),
    (20, 2, 'T-1', null, 1, 9),
    (60, 6, 'S-1', 'red', 1, 1), (61, 6, 'S-2', 'red', 2, 1), (62, 6, 'S-3', 'blu', 3, 1),
    (63, 6, 'S-4', 'red', 4, 1), (64, 6, 'S-5', 'blu', 5, 1),
    (40, 4, 'G-1', 'red', 1, 1), (70, 7, 'N-1', 'blu', 1, null);
`;

export const SHOP_JOB: SpecJob = {
  schema: "public",
  table: "products",
  documentIdColumn: "id",
  includedColumns: [],
  queryableFields: ["title"],
};

export const SHOP_SPEC: DocumentSpecInput = {
  fields: [
    { name: "title", column: "title" },
    { name: "category", column: "category", facet: true },
    { name: "price_cents", sql: "coalesce(round(price * 100), 0)::bigint", sort: true },
    { name: "tags", column: "tags" },
    { name: "rating", column: "rating", type: "float" },
    { name: "title_upper", sql: "upper(title)" },
    { name: "meta", column: "meta" },
  ],
  filter: "deleted_at IS NULL AND status = 'published'",
  lookups: [
    {
      name: "brand",
      table: "public.brands",
      on: { brand_id: "id" },
      fields: [
        { name: "brand_name", column: "name", facet: true },
        { name: "brand_country", column: "country" },
      ],
    },
  ],
  children: [
    {
      name: "variants",
      table: "variants",
      on: { id: "product_id" },
      order_by: "position",
      limit: 3,
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
    {
      name: "v",
      table: "public.variants",
      on: { id: "product_id" },
      order_by: "position desc",
      limit: 2,
      shape: "arrays",
      fields: [{ name: "sku", column: "sku" }],
      lookups: [
        {
          name: "c2",
          table: "colors",
          on: { color_code: "code" },
          fields: [{ name: "color", column: "label", facet: true }],
        },
      ],
    },
  ],
  collection: { default_sorting_field: "price_cents", token_separators: ["-"] },
};

/**
 * THE ORACLE: the spec's documents written by hand with jsonb_build_object /
 * jsonb_agg over the tables (not the renderer). NULL members stripped (the
 * spec omits NULL fields, also inside child objects), NULL array elements
 * filtered, no child rows = [], children in order_by then primary key order.
 */
export const SHOP_ORACLE = `
  select p.id::text as id, jsonb_strip_nulls(jsonb_build_object(
    'id', p.id::text,
    'title', p.title, 'category', p.category,
    'price_cents', coalesce(round(p.price * 100), 0)::bigint,
    'tags', to_jsonb(array_remove(p.tags, null)),
    'rating', case when p.rating = 'NaN' then null else p.rating end,
    'title_upper', upper(p.title),
    'meta', case when jsonb_typeof(p.meta) = 'object' then p.meta end,
    'brand_name', b.name, 'brand_country', b.country,
    'variants', coalesce((
      select jsonb_agg(jsonb_build_object('sku', v.sku, 'stock', v.stock, 'color', c.label)
                       order by v.position, v.id)
        from (select * from variants x where x.product_id = p.id order by x.position, x.id limit 3) v
        left join colors c on c.code = v.color_code), '[]'::jsonb),
    'v_sku', coalesce((
      select jsonb_agg(v.sku order by v.position desc, v.id)
        from (select * from variants x where x.product_id = p.id order by x.position desc, x.id limit 2) v),
      '[]'::jsonb),
    'v_color', coalesce((
      select jsonb_agg(c.label order by v.position desc, v.id) filter (where c.label is not null)
        from (select * from variants x where x.product_id = p.id order by x.position desc, x.id limit 2) v
        left join colors c on c.code = v.color_code), '[]'::jsonb)
  ))::text as document
  from products p left join brands b on b.id = p.brand_id
  where p.deleted_at is null and p.status = 'published'
  order by p.id
`;

export async function oracleDocuments(db: pg.Pool): Promise<Map<string, Document>> {
  const r = await db.query<{ id: string; document: string }>(SHOP_ORACLE);
  return new Map(r.rows.map((row) => [row.id, parseJson(row.document) as Document]));
}

/** Documents by id, sorted by id with their keys sorted: two collections compare with toEqual. */
export function normalizedDocuments(m: ReadonlyMap<string, Document>): unknown[] {
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, d]) => sortKeys(d));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}
