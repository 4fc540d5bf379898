import { beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { ADMIN_KEY, useListeningServer, useSourceDatabase, useTestApp } from "./fixture.js";

/**
 * POST /typesense/sync-jobs/preview over a real listening server: the schema
 * and sample documents a job body would make, its warnings, the checks of job
 * create (columns, scope, rights), and that nothing is written anywhere.
 */
const db = useTestDatabase();
const ts = useTypesense();
const src = useSourceDatabase(
  `create table products (id bigint primary key, title text not null, price numeric(10,2),
     tags text[] not null default '{}', created_at timestamptz)`,
  // row 3's created_at has no epoch value: the field is left out of its document
  `insert into products select i, 'Product ' || i, i * 2.5, array['t' || (i % 2)],
     case when i = 3 then 'infinity'::timestamptz else '2026-01-01T00:00:00Z'::timestamptz end
     from generate_series(1, 12) i`,
  // no primary key, no unique index: an id column that cannot name one document
  "create table notes (code text, body text)",
  "insert into notes values ('a', 'first'), ('a', 'second'), ('b', 'third')",
  // a spec's tables: a lookup (brands) and a child (variants), a soft-delete column
  "create table brands (id int primary key, name text not null)",
  `create table shop (id int primary key, title text not null, price numeric(10,2) not null,
     brand_id int references brands (id), deleted_at timestamptz)`,
  `create table variants (id int primary key, product_id int not null references shop (id),
     sku text not null, color text, position int not null)`,
  "insert into brands values (1, 'Nordvik'), (2, 'Acme')",
  `insert into shop select i, 'Item ' || i, i * 1.25, case when i = 4 then null else 1 + i % 2 end,
     case when i = 2 then now() end from generate_series(1, 6) i`,
  `insert into variants select i, 1 + (i - 1) % 6, 'SKU-' || i, (array['red','blue','green'])[1 + i % 3], -i
     from generate_series(1, 12) i`,
  "create sequence preview_probe",
  // unique but no primary key: a document id CDC deletes cannot carry
  "create table tagged (code text not null unique, body text)",
  "insert into tagged values ('x', 'one'), ('y', 'two')",
);
const t = useTestApp(db, silentLogger, { clients: () => ({ app: src.url, other: src.url }) });
const server = useListeningServer(t, silentLogger);

type Json = { status: string; code?: string; message: string; data?: unknown; error?: unknown };
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Json };
}
const admin = { "X-Athena-Key": ADMIN_KEY };
const preview = (body: unknown, headers: Record<string, string> = admin) =>
  post("/typesense/sync-jobs/preview", body, headers);

interface Preview {
  schema: { name: string; fields: { name: string; type: string }[] };
  documents: Record<string, unknown>[];
  warnings: { kind: string; message: string; field?: string; document_id?: string }[];
}

let backendId = "";
const keys = { search: "", other: "" };
beforeAll(async () => {
  const b = await post(
    "/typesense/backends",
    {
      name: "emu",
      base_url: ts.url,
      api_key: ts.apiKey,
    },
    admin,
  );
  backendId = (b.json.data as { id: string }).id;
  const key = async (body: object) =>
    ((await post("/admin/api-keys", body, admin)).json.data as { api_key: string }).api_key;
  keys.search = await key({ name: "search", rights: ["gateway.typesense_search"] });
  keys.other = await key({ name: "other", client_name: "other" });
});

const productsJob = (over: object = {}) => ({
  profile_id: backendId,
  source_client_name: "app",
  source_table_name: "products",
  collection_name: "preview_products",
  document_id_column: "id",
  queryable_fields: ["title"],
  ...over,
});

describe("POST /typesense/sync-jobs/preview without a document spec", () => {
  it("answers the collection schema and the first 5 documents in id order", async () => {
    const r = await preview(productsJob());
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const p = r.json.data as Preview;
    expect(p.schema.name).toBe("preview_products");
    expect(p.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ["title", "string"],
      ["price", "float"],
      ["tags", "string[]"],
      ["created_at", "int64"],
    ]);
    expect(p.documents.map((d) => d.id)).toEqual(["1", "2", "3", "4", "5"]);
    expect(p.documents[0]).toEqual({
      id: "1",
      title: "Product 1",
      price: 2.5,
      tags: ["t1"],
      created_at: 1767225600000,
    });
  });

  it("limit picks how many documents (max 50)", async () => {
    const two = await preview(productsJob({ limit: 2 }));
    expect((two.json.data as Preview).documents.map((d) => d.id)).toEqual(["1", "2"]);
    const all = await preview(productsJob({ limit: 50 }));
    expect((all.json.data as Preview).documents).toHaveLength(12);
    const tooMany = await preview(productsJob({ limit: 51 }));
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(tooMany.json.error)).toContain("body.limit");
  });

  it("a value that does not convert is a warning naming the field and the document", async () => {
    const p = (await preview(productsJob())).json.data as Preview;
    expect(p.documents[2]).not.toHaveProperty("created_at");
    expect(p.warnings).toEqual([
      expect.objectContaining({ kind: "value_dropped", field: "created_at", document_id: "3" }),
    ]);
    expect(p.warnings[0]!.message).toContain("infinity");
  });

  it("an id column that is not unique, and a CDC job on a table without replica identity, warn that deletes need a key", async () => {
    const notes = {
      source_client_name: "app",
      source_table_name: "notes",
      collection_name: "preview_notes",
      document_id_column: "code",
      queryable_fields: ["body"],
    };
    const plain = (await preview(notes)).json.data as Preview;
    expect(plain.documents.map((d) => d.id)).toEqual(["a", "a", "b"]);
    expect(plain.warnings.map((w) => [w.kind, w.field])).toEqual([
      ["deletes_need_key", "document_id_column"],
    ]);
    expect(plain.warnings[0]!.message).toContain('"public"."notes" column "code": is not unique');
    const cdc = (await preview({ ...notes, cdc_enabled: true })).json.data as Preview;
    expect(cdc.warnings.map((w) => [w.kind, w.field])).toEqual([
      ["deletes_need_key", "document_id_column"],
      ["deletes_need_key", "cdc_enabled"],
    ]);
    expect(cdc.warnings[1]!.message).toContain("has no replica identity");
    // a table with a primary key streams its deletes: no warning
    const ok = (await preview(productsJob({ cdc_enabled: true }))).json.data as Preview;
    expect(ok.warnings.filter((w) => w.kind === "deletes_need_key")).toEqual([]);
  });

  it("a column the table does not have is 400 naming it, as job create says", async () => {
    const r = await preview(productsJob({ included_columns: ["title", "colour"] }));
    expect(r.status).toBe(400);
    expect(r.json.code).toBe("SOURCE_SCHEMA_INVALID");
    expect(r.json.message).toContain('column "colour"');
    expect(r.json.error).toEqual({ column: "colour" });
    const table = await preview(productsJob({ source_table_name: "nope" }));
    expect(table.status).toBe(400);
    expect(table.json.message).toContain('"public"."nope"');
  });

  it("profile_id is optional, and checked when given", async () => {
    const { profile_id: _, ...body } = productsJob();
    expect((await preview(body)).status).toBe(200);
    const bad = await preview(productsJob({ profile_id: "00000000-0000-4000-8000-000000000000" }));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toEqual({ field: "profile_id" });
  });
});

const shopSpec = {
  fields: [
    { name: "title", column: "title" },
    { name: "price_cents", sql: "round(price * 100)::bigint", sort: true },
  ],
  filter: "deleted_at IS NULL",
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
      shape: "arrays",
      fields: [
        { name: "sku", column: "sku" },
        { name: "color", column: "color", facet: true },
      ],
    },
  ],
  collection: { default_sorting_field: "price_cents" },
};
const shopJob = (document: unknown, over: object = {}) => ({
  source_client_name: "app",
  source_table_name: "shop",
  collection_name: "preview_shop",
  document_id_column: "id",
  queryable_fields: ["title"],
  document,
  ...over,
});

describe("POST /typesense/sync-jobs/preview with a document spec", () => {
  it("answers the designed schema and documents with a lookup, a child and the filter applied", async () => {
    const r = await preview(shopJob(shopSpec, { limit: 3 }));
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const p = r.json.data as Preview & { schema: { default_sorting_field?: string } };
    expect(p.schema.default_sorting_field).toBe("price_cents");
    const byName = Object.fromEntries(p.schema.fields.map((f) => [f.name, f]));
    expect(byName.brand_name).toMatchObject({ type: "string", facet: true });
    expect(byName.variants_color).toMatchObject({ type: "string[]", facet: true });
    expect(byName.price_cents).toMatchObject({ type: "int64", sort: true });
    // row 2 is soft-deleted: not a document
    expect(p.documents.map((d) => d.id)).toEqual(["1", "3", "4"]);
    expect(p.documents[0]).toMatchObject({
      id: "1",
      title: "Item 1",
      price_cents: 125,
      brand_name: "Acme",
      // variants 7 (position -7) before 1 (position -1)
      variants_sku: ["SKU-7", "SKU-1"],
    });
    // row 4 has no brand: no brand_name field at all
    expect(p.documents[2]).not.toHaveProperty("brand_name");
    expect(p.warnings).toEqual([]);
  });

  it("a spec that does not fit the catalog is 400 DOCUMENT_SPEC_INVALID naming the path", async () => {
    const bad = structuredClone(shopSpec);
    bad.lookups[0]!.fields[0]!.column = "label";
    const r = await preview(shopJob(bad));
    expect(r.status).toBe(400);
    expect(r.json.code).toBe("DOCUMENT_SPEC_INVALID");
    expect(r.json.message).toContain("document.lookups[0].fields[0]");
    expect(r.json.message).toContain("label");
  });

  it("the spec's SQL runs read-only: a field that would write is 400 and writes nothing", async () => {
    const writing = {
      fields: [
        { name: "title", column: "title" },
        { name: "n", sql: "nextval('preview_probe')" },
      ],
    };
    const r = await preview(shopJob(writing));
    expect(r.status, JSON.stringify(r.json)).toBe(400);
    expect(r.json.code).toBe("DOCUMENT_SPEC_INVALID");
    expect(r.json.message).toContain("read-only transaction");
    const probe = await t.pools.source("app").query("select is_called from preview_probe");
    expect(probe.rows[0]).toEqual({ is_called: false });
  });

  it("with a spec's own fields, queryable fields are the document's string fields (a lookup's too), as job create checks them", async () => {
    const ok = await preview(shopJob(shopSpec, { queryable_fields: ["title", "brand_name"] }));
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    // price is a column, not a field of this document: the spec's resolution names it
    const r = await preview(shopJob(shopSpec, { queryable_fields: ["price"] }));
    expect(r.status).toBe(400);
    expect(r.json.code).toBe("DOCUMENT_SPEC_INVALID");
    expect(JSON.stringify(r.json)).toContain("queryable_fields[0]");
  });

  it("with cdc_enabled, a child table whose deletes cannot name their root warns", async () => {
    const r = await preview(shopJob(shopSpec, { cdc_enabled: true }));
    const p = r.json.data as Preview;
    expect(p.warnings.map((w) => w.kind)).toEqual(["deletes_need_key"]);
    expect(p.warnings[0]!.message).toContain("variants");
    expect(p.warnings[0]!.message).toContain("REPLICA IDENTITY FULL");
  });
});

describe("the root's replica identity with a spec", () => {
  it("a CDC job whose root deletes cannot carry the id gets setup's warning once", async () => {
    const r = await preview({
      source_client_name: "app",
      source_table_name: "tagged",
      collection_name: "preview_tagged",
      document_id_column: "code",
      queryable_fields: ["body"],
      cdc_enabled: true,
      document: { fields: [{ name: "body", column: "body" }] },
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const p = r.json.data as Preview;
    expect(p.documents.map((d) => d.id)).toEqual(["x", "y"]);
    expect(p.warnings.map((w) => [w.kind, w.field])).toEqual([["deletes_need_key", "cdc_enabled"]]);
    expect(p.warnings[0]!.message).toContain("CDC cannot stream this job's deletes");
  });
});

describe("who may preview", () => {
  it("401 without a key, even with a malformed body", async () => {
    const res = await fetch(`${server.base}/typesense/sync-jobs/preview`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(401);
  });

  it("403 with a search-only key", async () => {
    const r = await preview(productsJob(), { "X-Athena-Key": keys.search });
    expect(r.status).toBe(403);
    expect(r.json.code).toBe("RIGHTS_INSUFFICIENT");
  });

  it("another client's key: 403 for the job's client, 400 naming source_client_name for its own (as create)", async () => {
    const asApp = await preview(productsJob(), {
      "X-Athena-Key": keys.other,
      "X-Athena-Client": "app",
    });
    expect(asApp.status).toBe(403);
    expect(asApp.json.code).toBe("CLIENT_MISMATCH");
    const asOther = await preview(productsJob(), {
      "X-Athena-Key": keys.other,
      "X-Athena-Client": "other",
    });
    expect(asOther.status).toBe(400);
    expect(asOther.json.error).toEqual({ field: "source_client_name" });
    // its own client's table previews
    const own = await preview(productsJob({ source_client_name: "other" }), {
      "X-Athena-Key": keys.other,
      "X-Athena-Client": "other",
    });
    expect(own.status, JSON.stringify(own.json)).toBe(200);
  });
});

describe("a preview writes nothing", () => {
  it("no job row, no run, no collection after previews", async () => {
    expect((await preview(productsJob({ cdc_enabled: true }))).status).toBe(200);
    const jobs = await db.pool.query("select 1 from typesense_sync_jobs");
    const runs = await db.pool.query("select 1 from typesense_sync_runs");
    expect(jobs.rowCount).toBe(0);
    expect(runs.rowCount).toBe(0);
    const collections = (await ts.client.collections().retrieve()).map((c) => c.name);
    expect(collections).not.toContain("preview_products");
  });
});

describe("OpenAPI", () => {
  it("documents the preview route with its request and answer schemas", async () => {
    const doc = (await (await fetch(`${server.base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.paths["/typesense/sync-jobs/preview"]?.post?.requestBody).toBeDefined();
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["SyncJobPreviewRequest", "SyncJobPreview"]),
    );
    const req = doc.components.schemas.SyncJobPreviewRequest as { properties: object };
    expect(Object.keys(req.properties)).toEqual(expect.arrayContaining(["document", "limit"]));
  });
});
