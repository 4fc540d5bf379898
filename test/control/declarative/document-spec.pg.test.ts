import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  applyJobsFile,
  type DeclarativeDeps,
  exportJobs,
  JobsFileError,
  planJobsFile,
} from "../../../src/control/declarative/index.js";
import { createSecretBox } from "../../../src/control/secret-box.js";
import { startRetargetResync } from "../../../src/coordination/retarget.js";
import { createPools, type Pools } from "../../../src/db/pool.js";
import { silentLogger } from "../../support/log.js";
import { useTestDatabase } from "../../support/pg.js";

/*
 * jobs export | plan | apply with a job's document spec (issue 15 point 6),
 * on a real control DB that is also the source database of client "app".
 */
const db = useTestDatabase();
const KEY = "ts-secret-key-0123456789-abcdef";
let pools: Pools;
let deps: DeclarativeDeps;

beforeAll(async () => {
  pools = createPools({
    controlUrl: db.url,
    clients: { app: { url: db.url } },
    log: silentLogger(),
  });
  deps = {
    pools,
    box: createSecretBox("ab".repeat(32)),
    allowHttp: true,
    windowSize: 500,
    onRetarget: (c, job, changed, rebuild) => startRetargetResync(c, job, changed, false, rebuild),
  };
  for (const q of [
    "create table brands (id bigint primary key, name text not null, country text)",
    `create table products (id bigint primary key, title text not null, brand_id bigint,
       price numeric not null, status text not null)`,
    `create table variants (id bigint primary key, product_id bigint not null, sku text not null,
       color text, position int not null)`,
  ]) {
    await db.pool.query(q);
  }
});
afterAll(async () => {
  await pools.close();
});
beforeEach(async () => {
  await db.pool.query("delete from typesense_sync_jobs");
  await db.pool.query("delete from typesense_profiles");
});

const FILE = "conf/jobs.yaml";
const env = { TS_MAIN_KEY: KEY, TYPESENSE_API_KEY_MAIN: KEY };

/** A real spec: a computed field, a filter, a lookup (with its own lookup-free fields) and a child. */
const SPEC = {
  fields: [
    { name: "title", column: "title" },
    { name: "status", column: "status", facet: true },
    { name: "price_cents", sql: "round(price * 100)::bigint", sort: true },
  ],
  filter: "status = 'published'",
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
      limit: 20,
      shape: "arrays",
      fields: [
        { name: "sku", column: "sku" },
        { name: "color", column: "color", facet: true },
      ],
    },
  ],
};

/** The jobs file with one job on `products` whose spec is `document`. */
function file(document: unknown): string {
  return stringify({
    version: 1,
    backends: [
      { name: "main", base_url: "http://ts.example.test:8108", api_key: "${TS_MAIN_KEY}" },
    ],
    jobs: [
      {
        backend: "main",
        collection_name: "products",
        source_client_name: "app",
        source_table_name: "products",
        document_id_column: "id",
        queryable_fields: ["title"],
        document,
      },
    ],
  });
}
const input = (text: string) => ({ text, file: FILE, env, prune: false });
const lines: string[] = [];
const apply = (text: string) => applyJobsFile(deps, input(text), (t) => lines.push(t));

async function fileError(p: Promise<unknown>): Promise<JobsFileError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(JobsFileError);
  return e as JobsFileError;
}

const storedSpec = async () =>
  (await db.pool.query("select document from typesense_sync_jobs")).rows[0]?.document;

describe("declarative jobs with a document spec", () => {
  it("export -> apply -> export of a job with a lookup and a child is identical; plan then shows no changes", async () => {
    expect(await apply(file(SPEC))).toEqual({ created: 2, updated: 0, deleted: 0 });
    expect((await storedSpec()).lookups[0].name).toBe("brand");
    const first = await exportJobs(deps);
    expect(first.yaml).toContain("document:");
    expect(first.yaml).toContain("table: public.variants");
    expect(first.yaml).toContain("sql: round(price * 100)::bigint");
    // the exported file, applied to the database it came from, changes nothing
    expect(await apply(first.yaml)).toEqual({ created: 0, updated: 0, deleted: 0 });
    const second = await exportJobs(deps);
    expect(second.yaml).toBe(first.yaml);
    const plan = await planJobsFile(deps, input(second.yaml));
    expect(plan.changes).toBe(false);
    expect(plan.text).toBe(`No changes: the control database matches ${FILE}.\n`);
    // and the original file too (defaults such as a child's lookups: [] compare equal)
    expect((await planJobsFile(deps, input(file(SPEC)))).changes).toBe(false);
  });

  it("plan shows a spec change as the paths that change; apply writes it through the change rule and queues the run", async () => {
    await apply(file(SPEC));
    const added = {
      ...SPEC,
      fields: [...SPEC.fields, { name: "brand_ref", column: "brand_id" }],
    };
    const plan = await planJobsFile(deps, input(file(added)));
    expect(plan.changes).toBe(true);
    expect(plan.text).toContain("~ job main/products\n");
    expect(plan.text).toContain(
      '    document.fields[3]: (unset) -> {"name":"brand_ref","column":"brand_id"}\n',
    );
    // only the changed part is shown, not the whole spec
    expect(plan.text).not.toContain("public.variants");
    const r = await apply(file(added));
    expect(r).toEqual({ created: 0, updated: 1, deleted: 0 });
    expect(lines.join("")).toMatch(/updated job main\/products \(document\): a full run/);
    expect((await storedSpec()).fields).toHaveLength(4);
    const runs = await db.pool.query("select trigger, status from typesense_sync_runs");
    expect(runs.rows).toEqual([{ trigger: "resync", status: "queued" }]);
  });

  it("plan shows that a spec change needing a new collection rebuilds; apply stores it and queues the rebuild with reason spec_change", async () => {
    await apply(file(SPEC));
    const changed = { ...SPEC, filter: "status <> 'draft'" };
    const text = file(changed);
    const plan = await planJobsFile(deps, input(text));
    expect(plan.text).toMatch(
      /~ job main\/products \[rebuild: a new collection version is built and swapped in \(document\.filter: the row filter changed/,
    );
    expect(plan.text).not.toContain("drop or recreate");
    expect(await apply(text)).toEqual({ created: 0, updated: 1, deleted: 0 });
    expect(lines.join("")).toMatch(
      /updated job main\/products \(document\): .*a rebuild is queued/,
    );
    expect((await storedSpec()).filter).toBe("status <> 'draft'");
    const runs = await db.pool.query(
      "select trigger, status, rebuild_reason from typesense_sync_runs",
    );
    expect(runs.rows).toEqual([
      { trigger: "rebuild", status: "queued", rebuild_reason: "spec_change" },
    ]);
  });

  it("a CDC job's spec change that needs a new collection fails plan and apply naming the spec path and line; nothing is written", async () => {
    await apply(file(SPEC));
    await db.pool.query("update typesense_sync_jobs set cdc_enabled = true");
    const before = await storedSpec();
    const changed = { ...SPEC, filter: "status <> 'draft'" };
    const text = file(changed);
    const e = await fileError(planJobsFile(deps, input(text)));
    expect(e.issues).toEqual([
      expect.objectContaining({
        path: "jobs[0].document.filter",
        line: text.split("\n").findIndex((l) => l.includes("filter:")) + 1,
      }),
    ]);
    expect(e.message).toContain("the row filter changed");
    expect(e.message).toContain(
      "a CDC job's stream would write the new design into the live version",
    );
    await fileError(apply(text));
    expect(await storedSpec()).toEqual(before);
  });

  it("a spec that does not fit the catalog fails plan naming each problem's path in the file; a new job is not created", async () => {
    const bad = {
      ...SPEC,
      fields: [{ name: "title", column: "titel" }, ...SPEC.fields.slice(1)],
      lookups: [{ ...SPEC.lookups[0], table: "public.makers" }],
    };
    const text = file(bad);
    const e = await fileError(planJobsFile(deps, input(text)));
    const paths = e.issues.map((i) => i.path);
    expect(paths).toContain("jobs[0].document.fields[0].column");
    expect(paths).toContain("jobs[0].document.lookups[0].table");
    const titel = e.issues.find((i) => i.path === "jobs[0].document.fields[0].column");
    expect(titel?.line).toBe(text.split("\n").findIndex((l) => l.includes("titel")) + 1);
    await fileError(apply(text));
    expect(
      (await db.pool.query("select count(*)::int as n from typesense_sync_jobs")).rows[0].n,
    ).toBe(0);
  });
});
