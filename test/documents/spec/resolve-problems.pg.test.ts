import { beforeAll, describe, expect, it } from "vitest";
import type { DocumentSpecInput } from "../../../src/db/repositories/document-spec.js";
import {
  DocumentSpecError,
  resolveDocumentSpec,
  type SpecJob,
  type SpecProblem,
} from "../../../src/documents/index.js";
import { useTestDatabase } from "../../support/pg.js";
import { SHOP_DDL, SHOP_JOB, SHOP_SPEC } from "./fixture.js";

/*
 * Every check of resolveDocumentSpec against the real catalog: the error is
 * a DocumentSpecError (400 DOCUMENT_SPEC_INVALID) whose message names the
 * JSON path and the problem; all problems of a spec come back at once.
 */

const db = useTestDatabase({ migrate: false });

beforeAll(async () => {
  await db.pool.query(SHOP_DDL);
  await db.pool.query(`
    create table nokey (product_id int8, label text);
    create table tags (product_id int8, tag text, primary key (product_id, tag));
    create table brand_regions (brand_id int4 references brands, region text, primary key (brand_id, region));
    create table l1 (id int primary key, l2 int);
    create table l2 (id int primary key, l3 int);
    create table l3 (id int primary key, l4 int);
    create table l4 (id int primary key, l5 int);
    create table l5 (id int primary key, name text);
  `);
});

async function problemsOf(
  spec: DocumentSpecInput,
  job: SpecJob = SHOP_JOB,
): Promise<SpecProblem[]> {
  const err = await resolveDocumentSpec(db.pool, job, spec).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DocumentSpecError);
  const e = err as DocumentSpecError;
  expect(e.code).toBe("DOCUMENT_SPEC_INVALID");
  expect(e.httpStatus).toBe(400);
  expect(e.detail).toEqual({ problems: e.problems });
  for (const p of e.problems) expect(e.message).toContain(`${p.path}: ${p.message}`);
  return [...e.problems];
}

async function expectProblem(
  spec: DocumentSpecInput,
  path: string,
  message: string | RegExp,
  job?: SpecJob,
) {
  const problems = await problemsOf(spec, job);
  const hit = problems.find((p) => p.path === path);
  expect(hit, JSON.stringify(problems)).toBeDefined();
  if (typeof message === "string") expect(hit?.message).toContain(message);
  else expect(hit?.message).toMatch(message);
}

const base = SHOP_SPEC;
const fields = (...extra: object[]): DocumentSpecInput =>
  ({ ...base, fields: [...(base.fields ?? []), ...extra] }) as DocumentSpecInput;

describe("resolveDocumentSpec: every problem names its path", () => {
  it("the fixture spec itself resolves", async () => {
    await expect(resolveDocumentSpec(db.pool, SHOP_JOB, SHOP_SPEC)).resolves.toBeDefined();
  });

  it("root table and id column", async () => {
    await expectProblem({}, "source_table_name", '"public"."nope" does not exist', {
      ...SHOP_JOB,
      table: "nope",
    });
    await expectProblem(
      base,
      "document_id_column",
      'column "pid" does not exist in "public"."products"',
      {
        ...SHOP_JOB,
        documentIdColumn: "pid",
      },
    );
  });

  it("a field's column", async () => {
    await expectProblem(
      fields({ name: "x", column: "nope" }),
      "document.fields[7].column",
      'column "nope" does not exist in "public"."products"',
    );
  });

  it("a field's sql: syntax error, unknown column, a second statement, comments, parentheses", async () => {
    await expectProblem(
      fields({ name: "x", sql: "price * * 2" }),
      "document.fields[7].sql",
      "syntax error",
    );
    await expectProblem(
      fields({ name: "x", sql: "prize * 2" }),
      "document.fields[7].sql",
      'column "prize" does not exist',
    );
    await expectProblem(
      fields({ name: "x", sql: "1; delete from brands" }),
      "document.fields[7].sql",
      "';' is not allowed",
    );
    await expectProblem(
      fields({ name: "x", sql: "1 -- c" }),
      "document.fields[7].sql",
      "comments are not allowed",
    );
    await expectProblem(
      fields({ name: "x", sql: "1) as a, (2" }),
      "document.fields[7].sql",
      "unbalanced ')'",
    );
  });

  it("an expression is over one row: aggregates, window and set-returning functions are refused", async () => {
    const one = "must be an expression over one row";
    await expectProblem(fields({ name: "x", sql: "unnest(tags)" }), "document.fields[7].sql", one);
    await expectProblem(fields({ name: "x", sql: "count(*)" }), "document.fields[7].sql", one);
    await expectProblem(
      fields({ name: "x", sql: "row_number() over ()" }),
      "document.fields[7].sql",
      one,
    );
    await expectProblem({ ...base, filter: "count(*) > 1" }, "document.filter", one);
    await expectProblem(
      { ...base, children: [{ ...base.children?.[0], order_by: "count(*)" }] } as DocumentSpecInput,
      "document.children[0].order_by",
      'column "#row.id" must appear in the GROUP BY clause',
    );
  });

  it("operator SQL is only described, never run (limit 0, then rolled back)", async () => {
    await db.pool.query("create sequence spec_probe");
    await resolveDocumentSpec(
      db.pool,
      { ...SHOP_JOB, queryableFields: [] },
      {
        fields: [{ name: "n", sql: "nextval('spec_probe')" }],
        filter: "nextval('spec_probe') > 0",
      },
    );
    const r = await db.pool.query<{ is_called: boolean }>("select is_called from spec_probe");
    expect(r.rows[0]?.is_called).toBe(false);
  });

  it("the filter: must be boolean, errors come back at its path", async () => {
    await expectProblem(
      { ...base, filter: "price * 2" },
      "document.filter",
      "must be boolean, is numeric",
    );
    await expectProblem(
      { ...base, filter: "statuz = 'x'" },
      "document.filter",
      'column "statuz" does not exist',
    );
  });

  it("an explicit type must be one the value converts to", async () => {
    await expectProblem(
      fields({ name: "x", column: "id", type: "int32" }),
      "document.fields[7].type",
      'type "int32" does not convert from the value\'s type int64 (Postgres bigint)',
    );
    await expectProblem(
      fields({ name: "x", column: "tags", type: "string" }),
      "document.fields[7].type",
      "string[]",
    );
  });

  it("options Typesense refuses: sort on a non-sortable type, a facet that is not indexed, num_dim", async () => {
    await expectProblem(
      fields({ name: "x", column: "tags", sort: true }),
      "document.fields[7].sort",
      "a string[] field cannot be sortable",
    );
    await expectProblem(
      fields({ name: "x", column: "title", facet: true, index: false }),
      "document.fields[7].facet",
      "must be indexed",
    );
    await expectProblem(
      fields({ name: "x", column: "title", num_dim: 3 }),
      "document.fields[7].num_dim",
      "float[]",
    );
  });

  it("lookup: table, on columns on both sides, comparable types, a unique key", async () => {
    const lookup = (l: object) =>
      ({ ...base, lookups: [{ ...(base.lookups?.[0] as object), ...l }] }) as DocumentSpecInput;
    await expectProblem(
      lookup({ table: "public.nope" }),
      "document.lookups[0].table",
      'table "public"."nope" does not exist',
    );
    await expectProblem(
      lookup({ on: { brand_idd: "id" } }),
      "document.lookups[0].on.brand_idd",
      'column "brand_idd" does not exist in "public"."products"',
    );
    await expectProblem(
      lookup({ on: { brand_id: "idd" } }),
      "document.lookups[0].on.brand_id",
      'column "idd" does not exist in "public"."brands"',
    );
    await expectProblem(
      lookup({ on: { title: "id" } }),
      "document.lookups[0].on.title",
      "cannot be compared",
    );
    await expectProblem(
      lookup({
        table: "brand_regions",
        on: { brand_id: "brand_id" },
        fields: [{ name: "region", column: "region" }],
      }),
      "document.lookups[0].on",
      'is not a unique key of "public"."brand_regions": a lookup is many-to-one',
    );
    await expectProblem(
      lookup({ fields: [{ name: "brand_name", column: "nom" }] }),
      "document.lookups[0].fields[0].column",
      'column "nom" does not exist in "public"."brands"',
    );
  });

  it("field names are unique across the document and within a child object", async () => {
    await expectProblem(
      {
        ...base,
        lookups: [
          { ...(base.lookups?.[0] as object), fields: [{ name: "title", column: "name" }] },
        ],
      } as DocumentSpecInput,
      "document.lookups[0].fields[0].name",
      'field name "title" is already used by document.fields[0]',
    );
    await expectProblem(
      fields({ name: "v_sku", column: "title" }),
      "document.children[1].fields[0].name",
      'field name "v_sku" is already used by document.fields[7]',
    );
    await expectProblem(
      fields({ name: "variants", column: "title" }),
      "document.children[0].name",
      'field name "variants" is already used by document.fields[7]',
    );
    const child = {
      ...base.children?.[0],
      fields: [
        { name: "sku", column: "sku" },
        { name: "color", column: "color_code" },
      ],
    };
    await expectProblem(
      { ...base, children: [child, base.children?.[1]] } as DocumentSpecInput,
      "document.children[0].lookups[0].fields[0].name",
      'field name "color" is already used by document.children[0].fields[1]',
    );
  });

  it("default_sorting_field: a sortable, non-optional root field", async () => {
    const dsf = (name: string, spec: DocumentSpecInput = base) => ({
      ...spec,
      collection: { default_sorting_field: name },
    });
    await expectProblem(
      dsf("nope"),
      "document.collection.default_sorting_field",
      '"nope" is not a root field',
    );
    await expectProblem(
      dsf("brand_name"),
      "document.collection.default_sorting_field",
      "(it comes from a lookup or a child)",
    );
    await expectProblem(
      dsf("tags"),
      "document.collection.default_sorting_field",
      "is string[]; a default sorting field must be",
    );
    await expectProblem(
      dsf("title"),
      "document.collection.default_sorting_field",
      "is string without sort: true",
    );
    await expectProblem(
      dsf("r", fields({ name: "r", column: "rating", optional: true })),
      "document.collection.default_sorting_field",
      "cannot be optional",
    );
  });

  it("children: order_by must parse; without it a primary key is needed; arrays shape wants scalars", async () => {
    const child = (c: object) =>
      ({ ...base, children: [{ ...base.children?.[0], ...c }] }) as DocumentSpecInput;
    await expectProblem(
      child({ order_by: "positon" }),
      "document.children[0].order_by",
      'column "positon" does not exist',
    );
    await expectProblem(
      child({
        table: "nokey",
        order_by: undefined,
        fields: [{ name: "label", column: "label" }],
        lookups: [],
      }),
      "document.children[0].order_by",
      '"public"."nokey" has no primary key to order its rows by; give order_by',
    );
    await expectProblem(
      child({
        table: "tags",
        shape: "arrays",
        fields: [{ name: "tag", sql: "array[tag]" }],
        lookups: [],
        order_by: undefined,
      }),
      "document.children[0].fields[0]",
      'shape "arrays" makes one array per child field, so a field must be a scalar, not string[]',
    );
    await expectProblem(
      child({ fields: [{ name: "sku", column: "sku", sort: true }] }),
      "document.children[0].fields[0].sort",
      "a child field is an array in the collection and cannot be sortable",
    );
    await expectProblem(
      child({ table: "nochild" }),
      "document.children[0].table",
      'table "public"."nochild" does not exist',
    );
    await expectProblem(
      child({ on: { id: "productid" } }),
      "document.children[0].on.id",
      'column "productid" does not exist in "public"."variants"',
    );
  });

  it("lookups nest at most 4 levels", async () => {
    const chain = (depth: number): object => ({
      name: `l${depth}`,
      table: `l${depth}`,
      on: { [depth === 1 ? "brand_id" : `l${depth}`]: "id" },
      fields: [{ name: `f${depth}`, sql: "id" }],
      ...(depth < 5 ? { lookups: [chain(depth + 1)] } : {}),
    });
    await expectProblem(
      { lookups: [chain(1)] },
      "document.lookups[0].lookups[0].lookups[0].lookups[0].lookups",
      "lookups nest at most 4 levels deep",
    );
    const four = JSON.parse(JSON.stringify(chain(1)));
    delete four.lookups[0].lookups[0].lookups[0].lookups;
    await expect(
      resolveDocumentSpec(db.pool, SHOP_JOB, { lookups: [four] }),
    ).resolves.toBeDefined();
  });

  it("queryable_fields name string fields of the document", async () => {
    await expectProblem(
      base,
      "queryable_fields[1]",
      '"price_cents" is int64; query_by needs string',
      {
        ...SHOP_JOB,
        queryableFields: ["title", "price_cents"],
      },
    );
    await expectProblem(base, "queryable_fields[0]", '"nope" is not a field of the document', {
      ...SHOP_JOB,
      queryableFields: ["nope"],
    });
  });

  it("the JSON shape itself (zod) is reported at its path", async () => {
    await expectProblem(
      { fields: [{ name: "a.b", column: "title" }] } as DocumentSpecInput,
      "document.fields[0].name",
      "may not contain '.'",
    );
  });

  it("collects every problem in one pass", async () => {
    const problems = await problemsOf({
      fields: [
        { name: "a", column: "nope" },
        { name: "b", sql: "prize" },
      ],
      filter: "1",
      lookups: [
        { name: "l", table: "nope", on: { brand_id: "id" }, fields: [{ name: "c", column: "x" }] },
      ],
    });
    expect(problems.map((p) => p.path)).toEqual([
      "document.fields[0].column",
      "document.fields[1].sql",
      "document.filter",
      "document.lookups[0].table",
      "queryable_fields[0]",
    ]);
  });
});
