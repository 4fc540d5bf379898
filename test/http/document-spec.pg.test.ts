import pg from "pg";
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
  `create table products_v2 (id bigint primary key, title text not null)`,
  `create table gadgets (id bigint primary key, title text not null, legacy text)`,
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
  it("POST with a spec stores it; GET, the list and the row hold it unchanged; PATCH with it again changes nothing", async () => {
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
    const row = await db.pool.query("select document from typesense_sync_jobs where id = $1", [
      created.json.data.id,
    ]);
    expect(row.rows[0].document).toEqual(STORED);
    // what GET returned, sent back: the same spec (jsonb reorders keys), no change, no resync
    const back = await call("PATCH", path, {
      document: (await call("GET", path)).json.data.document,
    });
    expect(back.status, JSON.stringify(back.json)).toBe(200);
    expect(back.json.message).toBe("sync job updated");
    expect(back.json.data.document).toEqual(STORED);
  });

  it("PATCH null removes a spec and PATCH sets it again (a spec that renders today's document)", async () => {
    const plain = { lookups: [], children: [] };
    const created = await call("POST", "/typesense/sync-jobs", await jobBody({ document: plain }));
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const path = `/typesense/sync-jobs/${created.json.data.id}`;
    const removed = await call("PATCH", path, { document: null });
    expect(removed.status, JSON.stringify(removed.json)).toBe(200);
    expect(removed.json.data.document).toBeNull();
    expect((await call("GET", path)).json.data.document).toBeNull();
    const again = await call("PATCH", path, { document: plain });
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect((await call("GET", path)).json.data.document).toEqual(plain);
  });

  it("with a spec's own fields, queryable_fields may name any string field of the document (a lookup's too)", async () => {
    const ok = await call(
      "POST",
      "/typesense/sync-jobs",
      await jobBody({ document: SPEC, queryable_fields: ["title", "brand_name"] }),
    );
    expect(ok.status, JSON.stringify(ok.json)).toBe(201);
    // not a field of the document: the spec's resolution names it
    const bad = await call(
      "POST",
      "/typesense/sync-jobs",
      await jobBody({ document: SPEC, queryable_fields: ["brand_id"] }),
    );
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain("queryable_fields[0]");
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
    const count = async () =>
      (await db.pool.query("select count(*)::int as n from typesense_sync_jobs")).rows[0].n;
    const before = await count();
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
    expect(await count()).toBe(before);
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

/** Creates a job with `document` through the API; its id. */
async function createWithSpec(document: unknown, extra: Record<string, unknown> = {}) {
  const r = await call("POST", "/typesense/sync-jobs", await jobBody({ document, ...extra }));
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json.data.id as string;
}

const jobCount = async () =>
  (await db.pool.query("select count(*)::int as n from typesense_sync_jobs")).rows[0].n as number;

/** SPEC with its first field replaced. */
const withField = (f: Record<string, unknown>) => ({
  ...SPEC,
  fields: [f, ...SPEC.fields.slice(1)],
});

describe("a spec is checked against the source catalog on create and update", () => {
  const cases: [string, unknown, string][] = [
    [
      "a column the table does not have",
      withField({ name: "title", column: "titel" }),
      "document.fields[0].column",
    ],
    [
      "an SQL expression that does not parse",
      withField({ name: "title", sql: "title ||| 'x'" }),
      "document.fields[0].sql",
    ],
    [
      "an SQL expression over a missing column",
      withField({ name: "title", sql: "upper(headline)" }),
      "document.fields[0].sql",
    ],
    [
      "a lookup to a table that does not exist",
      { ...SPEC, lookups: [{ ...SPEC.lookups[0], table: "public.makers" }] },
      "document.lookups[0].table",
    ],
    [
      "a lookup joined on a column the row does not have",
      { ...SPEC, lookups: [{ ...SPEC.lookups[0], on: { maker_id: "id" } }] },
      "document.lookups[0].on.maker_id",
    ],
    ["a filter that is not boolean", { ...SPEC, filter: "price * 2" }, "document.filter"],
  ];
  for (const [what, document, path] of cases) {
    it(`create with ${what}: 400 DOCUMENT_SPEC_INVALID naming ${path}; nothing is stored`, async () => {
      const jobs = await jobCount();
      const r = await call("POST", "/typesense/sync-jobs", await jobBody({ document }));
      expect(r.status, JSON.stringify(r.json)).toBe(400);
      expect(r.json.code).toBe("DOCUMENT_SPEC_INVALID");
      expect(r.json.message).toContain(`${path}:`);
      expect(JSON.stringify(r.json.error)).toContain(path);
      expect(await jobCount()).toBe(jobs);
    });
  }

  it("PATCH with a bad spec is 400 naming the path and leaves the stored spec", async () => {
    const id = await createWithSpec(null);
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, {
      document: withField({ name: "title", column: "titel" }),
    });
    expect(r.status, JSON.stringify(r.json)).toBe(400);
    expect(r.json.code).toBe("DOCUMENT_SPEC_INVALID");
    expect(r.json.message).toContain("document.fields[0].column:");
    expect((await call("GET", `/typesense/sync-jobs/${id}`)).json.data.document).toBeNull();
  });

  it("a source change that the stored spec no longer fits is 400 naming the spec's path", async () => {
    const id = await createWithSpec(SPEC);
    // products_v2 has the job's columns (id, title) but not the spec's
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, {
      source_table_name: "products_v2",
    });
    expect(r.status, JSON.stringify(r.json)).toBe(400);
    expect(r.json.code).toBe("DOCUMENT_SPEC_INVALID");
    expect(r.json.message).toContain("document.fields[1].column:");
    expect((await call("GET", `/typesense/sync-jobs/${id}`)).json.data.source_table_name).toBe(
      "products",
    );
  });
});

async function createKey(rights: string[]): Promise<Record<string, string>> {
  const r = await call("POST", "/admin/api-keys", { name: `k${rights.join()}`, rights });
  expect(r.status).toBe(201);
  return { "X-Athena-Key": (r.json.data as { api_key: string }).api_key };
}

describe("who may write a spec (its sql, filter and order_by run on the source)", () => {
  it("a proxy key creates and patches a job with a spec", async () => {
    const proxy = await createKey(["gateway.typesense_proxy"]);
    const r = await call("POST", "/typesense/sync-jobs", await jobBody({ document: SPEC }), proxy);
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    const p = await call(
      "PATCH",
      `/typesense/sync-jobs/${r.json.data.id}`,
      { document: SPEC },
      proxy,
    );
    expect(p.status).toBe(200);
  });

  it("a search-only key is 403 on create and patch, before the body is read; nothing changes", async () => {
    const search = await createKey(["gateway.typesense_search"]);
    const id = await createWithSpec(null);
    const jobs = await jobCount();
    const c = await call("POST", "/typesense/sync-jobs", await jobBody({ document: SPEC }), search);
    expect(c.status).toBe(403);
    expect(c.json.code).toBe("RIGHTS_INSUFFICIENT");
    const p = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: SPEC }, search);
    expect(p.status).toBe(403);
    // auth before the body: a body that is not even JSON gets the same 403
    const raw = await call("PATCH", `/typesense/sync-jobs/${id}`, "{not json", search);
    expect(raw.status).toBe(403);
    expect(await jobCount()).toBe(jobs);
    expect((await call("GET", `/typesense/sync-jobs/${id}`)).json.data.document).toBeNull();
  });

  it("no key is 401 on create and patch", async () => {
    const id = await createWithSpec(null);
    const c = await call("POST", "/typesense/sync-jobs", await jobBody({ document: SPEC }), {});
    expect(c.status).toBe(401);
    const p = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: SPEC }, {});
    expect(p.status).toBe(401);
  });
});

describe("changing a live job's spec", () => {
  const runs = async (jobId: string) =>
    (
      await db.pool.query<{ status: string; trigger: string }>(
        "select status, trigger from typesense_sync_runs where job_id = $1 order by created_at",
        [jobId],
      )
    ).rows;

  it("adding an optional field is accepted and queues a full run that fills it", async () => {
    const id = await createWithSpec(SPEC, { enabled: true });
    const added = { ...SPEC, fields: [...SPEC.fields, { name: "status_text", column: "status" }] };
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: added });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.message).toContain("document changed");
    expect(r.json.data.resync_queued).toBe(true);
    expect(r.json.data.resync_run_id).toEqual(expect.any(String));
    expect(await runs(id)).toEqual([{ status: "queued", trigger: "resync" }]);
    expect((r.json.data.document as { fields: unknown[] }).fields).toHaveLength(4);
  });

  it("a new field of a lookup and of an objects-shaped child is additive too; a new child is not", async () => {
    const objects = {
      ...SPEC,
      children: [{ ...SPEC.children[0], shape: "objects" }],
      collection: undefined,
    };
    const id = await createWithSpec(objects, { enabled: true });
    const grown = {
      ...objects,
      lookups: [
        {
          ...SPEC.lookups[0],
          fields: [...SPEC.lookups[0]!.fields, { name: "brand_id_copy", column: "id" }],
        },
      ],
      children: [
        {
          ...objects.children[0],
          fields: [...SPEC.children[0]!.fields, { name: "position", column: "position" }],
        },
      ],
    };
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: grown });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.data.resync_queued).toBe(true);
    const another = {
      ...grown,
      children: [...grown.children, { ...grown.children[0], name: "more_variants" }],
    };
    // the queued (never started) resync of the first change is replaced by the rebuild
    const rebuilt = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: another });
    expect(rebuilt.status, JSON.stringify(rebuilt.json)).toBe(200);
    expect(rebuilt.json.data.rebuild_queued).toBe(true);
    expect(rebuilt.json.message).toContain('document.children[1]: child "more_variants" added');
    expect(await runs(id)).toEqual([
      { status: "cancelled", trigger: "resync" },
      { status: "queued", trigger: "rebuild" },
    ]);
  });

  const reasonOf = async (runId: string) =>
    (
      await db.pool.query<{ trigger: string; reason: string; detail: string; stage: string }>(
        `select trigger, rebuild_reason as reason, rebuild_reason_detail as detail,
                rebuild_stage as stage
           from typesense_sync_runs where id = $1`,
        [runId],
      )
    ).rows[0];

  it("a change that needs a new collection is stored and queues a rebuild with reason spec_change naming the field", async () => {
    const id = await createWithSpec(SPEC, { enabled: true });
    const retyped = {
      ...SPEC,
      fields: [SPEC.fields[0], SPEC.fields[1], { ...SPEC.fields[2], type: "float" }],
    };
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: retyped });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.data.rebuild_queued).toBe(true);
    const runId = r.json.data.rebuild_run_id as string;
    expect(r.json.message).toContain(`a rebuild is queued (run ${runId})`);
    expect(r.json.message).toContain('document.fields[2]: field "price_cents" changes type');
    expect(r.json.message).not.toContain("drop or recreate");
    const run = await reasonOf(runId);
    expect(run).toMatchObject({ trigger: "rebuild", reason: "spec_change", stage: "create" });
    expect(run?.detail).toContain('field "price_cents" changes type');
    expect((r.json.data.document as { fields: { type?: string }[] }).fields[2]?.type).toBe("float");
    expect(await runs(id)).toEqual([{ status: "queued", trigger: "rebuild" }]);
    // until its swap, plain syncs refuse to write the new design into the live version
    const marker = await db.pool.query(
      "select rebuild_required from typesense_sync_jobs where id = $1",
      [id],
    );
    expect(marker.rows[0].rebuild_required).toContain('field "price_cents" changes type');
  });

  it("a second change while the rebuild is still queued keeps that one rebuild with the new cause", async () => {
    const id = await createWithSpec(SPEC, { enabled: true });
    const first = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: null });
    const second = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: SPEC });
    expect(second.status, JSON.stringify(second.json)).toBe(200);
    expect(second.json.data.rebuild_run_id).toBe(first.json.data.rebuild_run_id);
    expect(await runs(id)).toEqual([{ status: "queued", trigger: "rebuild" }]);
  });

  it("a change while a started run of the job is open is 409 naming that run; nothing is written", async () => {
    const id = await createWithSpec(SPEC, { enabled: true });
    const open = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_runs (job_id, trigger, status, stage, started_at)
       values ($1, 'manual', 'running', 'windows', now()) returning id`,
      [id],
    );
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: null });
    expect(r.status, JSON.stringify(r.json)).toBe(409);
    expect(r.json.message).toContain(`open manual run (${open.rows[0]!.id})`);
    expect(r.json.message).toContain("change the spec after it finished");
    expect((await call("GET", `/typesense/sync-jobs/${id}`)).json.data.document).toEqual(STORED);
    expect(await runs(id)).toEqual([{ status: "running", trigger: "manual" }]);
  });

  it("a CDC job's change that needs a new collection is 409 DOCUMENT_REBUILD_REQUIRED saying how to rebuild; nothing is written or queued", async () => {
    const id = await createWithSpec(SPEC, { enabled: true });
    await db.pool.query("update typesense_sync_jobs set cdc_enabled = true where id = $1", [id]);
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, { document: null });
    expect(r.status, JSON.stringify(r.json)).toBe(409);
    expect(r.json.code).toBe("DOCUMENT_REBUILD_REQUIRED");
    expect(r.json.message).toContain("document.filter");
    expect(r.json.message).toContain("set cdc_enabled to false in the same PATCH");
    expect(JSON.stringify(r.json.error)).toContain("document.filter");
    expect((await call("GET", `/typesense/sync-jobs/${id}`)).json.data.document).toEqual(STORED);
    expect(await runs(id)).toEqual([]);
    const off = await call("PATCH", `/typesense/sync-jobs/${id}`, {
      document: null,
      cdc_enabled: false,
    });
    expect(off.status, JSON.stringify(off.json)).toBe(200);
    expect(off.json.data.rebuild_queued).toBe(true);
  });

  it("when the stored spec no longer fits the source, a change queues a rebuild (never guessed as additive)", async () => {
    const spec = {
      fields: [
        { name: "title", column: "title" },
        { name: "legacy", column: "legacy" },
      ],
    };
    const id = await createWithSpec(spec, { source_table_name: "gadgets", enabled: true });
    const c = new pg.Client({ connectionString: src.url });
    await c.connect();
    await c.query("alter table gadgets drop column legacy");
    await c.end();
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, {
      document: { fields: [{ name: "title", column: "title" }] },
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const run = await reasonOf(r.json.data.rebuild_run_id as string);
    expect(run?.reason).toBe("spec_change");
    expect(run?.detail).toContain("the job's current design no longer fits its source");
    expect(run?.detail).toContain("legacy");
  });

  it("the same change together with a new collection_name is a retarget to a collection made from the new spec", async () => {
    const id = await createWithSpec(SPEC, { enabled: true });
    const r = await call("PATCH", `/typesense/sync-jobs/${id}`, {
      document: null,
      collection_name: `moved_${n}`,
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.data.document).toBeNull();
    expect(r.json.data.resync_queued).toBe(true);
    expect(r.json.message).toContain("collection_name, document changed");
  });
});
