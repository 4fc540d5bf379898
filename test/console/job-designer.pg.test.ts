import { beforeAll, describe, expect, it } from "vitest";
import { admin, jsonInit, useSourceDatabase, useTestApp } from "../http/fixture.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { formInit, signIn, unescapeHtml } from "./forms.js";

/**
 * The job form's document designer: the spec textarea, the catalog beside it
 * (columns, the foreign keys from and to the table as lookups and children)
 * and the Preview button, which renders POST /typesense/sync-jobs/preview's
 * answer on the form's own page and saves nothing.
 */
const db = useTestDatabase();
const src = useSourceDatabase(
  "create table brands (id int primary key, name text not null, country text)",
  `create table products (id bigint primary key, title text not null,
     brand_id int references brands (id), price numeric(10,2))`,
  `create table variants (id int primary key, product_id bigint not null references products (id),
     sku text not null, color text, position int not null default 0)`,
  "insert into brands values (1, 'Nordvik', 'NO'), (2, 'Acme', 'US')",
  "insert into products select i, 'Product ' || i, 1 + i % 2, i * 1.5 from generate_series(1, 8) i",
  `insert into variants select i, 1 + (i - 1) / 2, 'SKU-' || i, (array['red','blue'])[1 + i % 2], i
     from generate_series(1, 16) i`,
);
const t = useTestApp(db, silentLogger, { clients: () => ({ app: src.url }) });

let s: { cookie: string; csrf: string };
let backendId = "";
beforeAll(async () => {
  const b = await t.app.request(
    "/typesense/backends",
    jsonInit("POST", { name: "ts", base_url: "http://127.0.0.1:9", api_key: "k" }, admin),
  );
  backendId = ((await b.json()) as { data: { id: string } }).data.id;
  s = await signIn(t.app, admin["X-Athena-Key"]);
});

/** The form step 2 posts for products (what the browser sends: hidden step-1 fields included). */
const productsForm = (over: Record<string, string | string[]> = {}) => ({
  _csrf: s.csrf,
  profile_id: backendId,
  source_client_name: "app",
  source_schema_name: "public",
  source_table_name: "products",
  collection_name: "designer_products",
  document_id_column: "id",
  queryable_fields: ["title"],
  sync_interval_seconds: "300",
  stale_after_seconds: "900",
  enabled: "on",
  document: "",
  ...over,
});
const post = async (path: string, body: Record<string, string | string[]>) => {
  const res = await t.app.request(path, formInit(body, { cookie: s.cookie }));
  return { status: res.status, html: await res.text() };
};

describe("the job form's document designer", () => {
  it("offers the spec editor beside the table's columns, its lookups and its children from the catalog", async () => {
    const q = new URLSearchParams({
      profile_id: backendId,
      source_client_name: "app",
      source_schema_name: "public",
      source_table_name: "products",
    });
    const res = await t.app.request(`/console/jobs/new?${q}`, { headers: { cookie: s.cookie } });
    expect(res.status).toBe(200);
    const html = unescapeHtml(await res.text());
    expect(html).toMatch(/<textarea[^>]*name="document"/);
    expect(html).toContain("Columns of public.products");
    expect(html).toContain("brand_id");
    // products.brand_id -> brands.id is a lookup; variants.product_id -> products.id a child
    expect(html).toContain('"table": "public.brands", "on": {"brand_id":"id"}');
    expect(html).toContain('"table": "public.variants", "on": {"id":"product_id"}');
    expect(html).toContain("columns: id, name, country");
    expect(html).toContain("columns: id, product_id, sku, color, position");
    expect(html).toMatch(/formaction="\/console\/jobs\/preview#preview"/);
  });

  it("offers a starter spec from the catalog that previews as it is", async () => {
    const q = new URLSearchParams({
      profile_id: backendId,
      source_client_name: "app",
      source_schema_name: "public",
      source_table_name: "products",
    });
    const res = await t.app.request(`/console/jobs/new?${q}`, { headers: { cookie: s.cookie } });
    const html = unescapeHtml(await res.text());
    const starter =
      /<summary>Starter spec from the catalog<\/summary>.*?<pre class="mono doc">([^<]*)<\/pre>/s.exec(
        html,
      )?.[1];
    expect(starter).toBeDefined();
    const spec = JSON.parse(starter!) as Record<string, unknown>;
    expect(spec).toEqual({
      fields: [
        { name: "title", column: "title" },
        { name: "brand_id", column: "brand_id" },
        { name: "price", column: "price" },
      ],
      lookups: [
        {
          name: "brands",
          table: "public.brands",
          on: { brand_id: "id" },
          fields: [
            { name: "brands_name", column: "name" },
            { name: "brands_country", column: "country" },
          ],
        },
      ],
      children: [
        {
          name: "variants",
          table: "public.variants",
          on: { id: "product_id" },
          shape: "arrays",
          fields: [
            { name: "sku", column: "sku" },
            { name: "color", column: "color" },
            { name: "position", column: "position" },
          ],
        },
      ],
    });
    const r = await post("/console/jobs/preview", productsForm({ document: starter! }));
    expect(r.status, r.html).toBe(200);
    expect(unescapeHtml(r.html)).toContain('"brands_name": "Acme"');
  });

  it("Preview shows the schema and the sample documents on the form's page, and saves nothing", async () => {
    const r = await post("/console/jobs/preview", productsForm());
    expect(r.status, r.html).toBe(200);
    const html = unescapeHtml(r.html);
    expect(html).toContain("Preview of collection designer_products");
    expect(html).toContain("Schema: 3 fields");
    expect(html).toContain("5 sample documents");
    expect(html).toContain('"title": "Product 1"');
    expect(html).toContain("No warnings.");
    // the form is still filled in: the operator goes on editing
    expect(html).toMatch(/id="collection_name"[^>]*value="designer_products"/);
    const jobs = await t.app.request("/typesense/sync-jobs", { headers: admin });
    expect(((await jobs.json()) as { data: unknown[] }).data).toEqual([]);
  });

  it("a spec that is not JSON is refused next to the editor without asking the API", async () => {
    const r = await post("/console/jobs/preview", productsForm({ document: "{fields: [" }));
    expect(r.status).toBe(400);
    expect(r.html).toMatch(/id="document-error">not valid JSON/);
    expect(r.html).toMatch(/<textarea[^>]*aria-invalid="true"/);
    // the text is kept for fixing
    expect(unescapeHtml(r.html)).toContain("{fields: [</textarea>");
  });

  it("a column the table does not have is shown next to its field", async () => {
    const r = await post("/console/jobs/preview", productsForm({ included_columns: ["nope"] }));
    expect(r.status).toBe(400);
    expect(unescapeHtml(r.html)).toMatch(/id="included_columns-error">[^<]*column "nope"/);
    expect(r.html).not.toContain("Preview of collection");
  });

  it("Preview of a spec with a lookup and a child shows their fields in the schema and the documents", async () => {
    const spec = {
      fields: [{ name: "title", column: "title" }],
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
          fields: [{ name: "color", column: "color", facet: true }],
        },
      ],
    };
    const r = await post("/console/jobs/preview", productsForm({ document: JSON.stringify(spec) }));
    expect(r.status, r.html).toBe(200);
    const html = unescapeHtml(r.html);
    expect(html).toMatch(
      /<td class="mono">brand_name<\/td><td class="mono">string<\/td><td class="mono">[^<]*"facet":true/,
    );
    expect(html).toMatch(/<td class="mono">variants_color<\/td><td class="mono">string\[\]<\/td>/);
    expect(html).toContain('"brand_name": "Acme"');
    expect(html).toContain('"variants_color": [\n    "blue",\n    "red"\n  ]');
  });

  it("a spec problem is shown next to the editor with its path", async () => {
    const spec = { fields: [{ name: "title", column: "headline" }] };
    const r = await post("/console/jobs/preview", productsForm({ document: JSON.stringify(spec) }));
    expect(r.status).toBe(400);
    expect(unescapeHtml(r.html)).toMatch(/id="document-error">document\.fields\[0\][^<]*headline/);
  });

  it("a job created with a spec stores it; its edit form shows it; emptying the editor removes it, the save queuing a rebuild (a live filter cannot be dropped in place)", async () => {
    const spec = { fields: [{ name: "title", column: "title" }], filter: "price > 3" };
    const created = await post(
      "/console/jobs",
      productsForm({ collection_name: "spec_products", document: JSON.stringify(spec) }),
    );
    expect(created.status, created.html).toBe(303);
    const jobs = await t.app.request("/typesense/sync-jobs", { headers: admin });
    const job = (
      (await jobs.json()) as { data: { id: string; collection_name: string; document: unknown }[] }
    ).data.find((j) => j.collection_name === "spec_products")!;
    expect(job.document).toMatchObject(spec);
    const edit = await t.app.request(`/console/jobs/${job.id}/edit`, {
      headers: { cookie: s.cookie },
    });
    expect(unescapeHtml(await edit.text())).toContain('"filter": "price > 3"');
    const {
      profile_id: _p,
      source_client_name: _c,
      ...editForm
    } = productsForm({
      collection_name: "spec_products",
      document: "",
    });
    // the PATCH carries document: null; a live job's filter cannot be dropped in
    // place, so the save queues a rebuild and the flash says why
    const saved = await post(`/console/jobs/${job.id}`, editForm);
    expect(saved.status, saved.html).toBe(303);
    const list = await t.app.request("/console/jobs", { headers: { cookie: s.cookie } });
    const flash = unescapeHtml(await list.text());
    expect(flash).toContain("a rebuild is queued");
    expect(flash).toContain('document.filter: the row filter changed ("price > 3" -> null)');
    const after = await t.app.request(`/typesense/sync-jobs/${job.id}`, { headers: admin });
    expect(((await after.json()) as { data: { document: unknown } }).data.document).toBeNull();
    await t.app.request(`/typesense/sync-jobs/${job.id}`, { method: "DELETE", headers: admin });
  });

  it("the edit form previews the stored job with the edited values", async () => {
    const created = await t.app.request(
      "/typesense/sync-jobs",
      jsonInit(
        "POST",
        {
          profile_id: backendId,
          source_client_name: "app",
          source_table_name: "products",
          collection_name: "edited_products",
          document_id_column: "id",
          queryable_fields: ["title"],
        },
        admin,
      ),
    );
    const job = ((await created.json()) as { data: { id: string } }).data;
    const edit = await t.app.request(`/console/jobs/${job.id}/edit`, {
      headers: { cookie: s.cookie },
    });
    const page = await edit.text();
    expect(page).toMatch(/<textarea[^>]*name="document"/);
    expect(page).toContain(`formaction="/console/jobs/${job.id}/preview#preview"`);
    const {
      profile_id: _p,
      source_client_name: _c,
      ...editForm
    } = productsForm({
      collection_name: "edited_products",
      included_columns: ["title", "price"],
    });
    const r = await post(`/console/jobs/${job.id}/preview`, editForm);
    expect(r.status, r.html).toBe(200);
    const html = unescapeHtml(r.html);
    expect(html).toContain("Preview of collection edited_products");
    expect(html).toContain("Schema: 2 fields");
    expect(html).toContain('"price": 1.5');
    // the sample documents (the preview section) have no brand_id
    expect(html.slice(html.indexOf('id="preview"'))).not.toContain('"brand_id": ');
  });
});
