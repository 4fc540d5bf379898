import { describe, expect, it } from "vitest";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { admin, jsonInit, useSourceDatabase, useTestApp } from "./fixture.js";
import type { Envelope } from "./synced-job.js";

/*
 * The job's `document` spec over the real API (issue 15): stored as jsonb
 * (sql/010), returned as stored, documented in the OpenAPI document.
 */

const src = useSourceDatabase(
  `create table brands (id bigint primary key, name text not null)`,
  `create table products (id bigint primary key, title text not null, brand_id bigint,
     price numeric not null, status text not null, deleted_at timestamptz)`,
  `create table variants (id bigint primary key, product_id bigint not null, sku text not null,
     color text, position int not null)`,
  `insert into brands values (1, 'Acme'), (2, 'Globex')`,
  `insert into products select i, 'Product ' || i, 1 + i % 2, i * 1.25, 'published', null
     from generate_series(1, 10) i`,
  `insert into variants select i, 1 + i % 10, 'SKU-' || i, 'red', i from generate_series(1, 30) i`,
);
const db = useTestDatabase();
const t = useTestApp(db, silentLogger, { clients: () => ({ app: src.url }) });

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = admin,
): Promise<{ status: number; json: Envelope }> {
  const res = await t.app.request(
    path,
    body === undefined ? { method, headers } : jsonInit(method, body, headers),
  );
  return { status: res.status, json: (await res.json()) as Envelope };
}

/** A spec with a computed field, a filter, a lookup and a child (the example, trimmed). */
const SPEC = {
  fields: [
    { name: "title", column: "title" },
    { name: "status", column: "status", facet: true },
    { name: "price_cents", sql: "round(price * 100)::bigint", sort: true },
  ],
  filter: "deleted_at IS NULL AND status = 'published'",
  lookups: [
    {
      name: "brand",
      table: "public.brands",
      on: { brand_id: "id" },
      fields: [{ name: "brand_name", column: "name", facet: true }],
    },
  ],
  children: [
    {
      name: "variants",
      table: "public.variants",
      on: { id: "product_id" },
      order_by: "position",
      limit: 10,
      shape: "arrays",
      fields: [
        { name: "sku", column: "sku" },
        { name: "color", column: "color", facet: true },
      ],
    },
  ],
  collection: { default_sorting_field: "price_cents" },
};

/** SPEC as stored: zod's defaults applied (a child's `lookups`). */
const STORED = {
  ...SPEC,
  children: SPEC.children.map((c) => ({ ...c, lookups: [] })),
};

let backendId = "";
let n = 0;
async function backend(): Promise<string> {
  if (backendId) return backendId;
  const b = await call("POST", "/typesense/backends", {
    name: "emu",
    base_url: "http://127.0.0.1:9",
    api_key: "k".repeat(16),
  });
  expect(b.status).toBe(201);
  backendId = b.json.data.id as string;
  return backendId;
}

/** A job body on `products` with a fresh collection name. */
async function jobBody(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  n++;
  return {
    profile_id: await backend(),
    source_client_name: "app",
    source_table_name: "products",
    collection_name: `products_${n}`,
    document_id_column: "id",
    queryable_fields: ["title"],
    enabled: false,
    ...extra,
  };
}

describe("the document spec is stored on the job", () => {
  it("POST with a spec stores it; GET and the list return it unchanged; PATCH null removes it, PATCH sets it again", async () => {
    const created = await call("POST", "/typesense/sync-jobs", await jobBody({ document: SPEC }));
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json.data.document).toEqual(STORED);
    const path = `/typesense/sync-jobs/${created.json.data.id}`;
    expect((await call("GET", path)).json.data.document).toEqual(STORED);
    const list = (await call("GET", "/typesense/sync-jobs")).json.data as unknown as {
      id: string;
      document: unknown;
    }[];
    expect(list.find((j) => j.id === created.json.data.id)?.document).toEqual(STORED);
    const removed = await call("PATCH", path, { document: null });
    expect(removed.status, JSON.stringify(removed.json)).toBe(200);
    expect(removed.json.data.document).toBeNull();
    expect((await call("GET", path)).json.data.document).toBeNull();
    const again = await call("PATCH", path, { document: SPEC });
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect((await call("GET", path)).json.data.document).toEqual(STORED);
    const row = await db.pool.query("select document from typesense_sync_jobs where id = $1", [
      created.json.data.id,
    ]);
    expect(row.rows[0].document).toEqual(STORED);
  });

  it("a job created without a spec has document null (it renders as before specs existed)", async () => {
    const created = await call("POST", "/typesense/sync-jobs", await jobBody());
    expect(created.status).toBe(201);
    expect(created.json.data.document).toBeNull();
    const other = await call("PATCH", `/typesense/sync-jobs/${created.json.data.id}`, {
      sync_interval_seconds: 60,
    });
    expect(other.json.data.document).toBeNull();
  });

  it("a spec that breaks the JSON contract is 400 naming the key's path; nothing is stored", async () => {
    const bad = await call(
      "POST",
      "/typesense/sync-jobs",
      await jobBody({ document: { fields: [{ name: "title", colum: "title" }] } }),
    );
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain("colum");
    expect(JSON.stringify(bad.json)).toContain("document");
    const both = await call(
      "POST",
      "/typesense/sync-jobs",
      await jobBody({ document: { fields: [{ name: "t", column: "title", sql: "title" }] } }),
    );
    expect(both.status).toBe(400);
    expect(JSON.stringify(both.json)).toContain("exactly one of 'column' or 'sql'");
    const stored = await db.pool.query("select count(*)::int as n from typesense_sync_jobs");
    expect(stored.rows[0].n).toBe(2);
  });

  it("the OpenAPI document shows the DocumentSpec schema on create and patch", async () => {
    const doc = (await (await t.app.request("/openapi.json")).json()) as {
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.DocumentSpec?.properties ?? {})).toEqual(
      expect.arrayContaining(["fields", "filter", "lookups", "children", "collection"]),
    );
    for (const s of ["SyncJobCreate", "SyncJobPatch"]) {
      // a spec or null (PATCH null removes it)
      expect(schemas[s]?.properties?.document).toMatchObject({
        anyOf: [{ $ref: "#/components/schemas/DocumentSpec" }, { type: "null" }],
      });
    }
  });
});
