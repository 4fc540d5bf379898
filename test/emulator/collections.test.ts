import { describe, expect, it } from "vitest";
import { useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();

async function create400(body: Record<string, unknown>): Promise<string> {
  const r = await raw(ts, "POST", "/collections", body);
  expect(r.status).toBe(400);
  return r.json.message;
}

describe("collections (reference §3)", () => {
  it("create returns 201 with the summary and field defaults filled in", async () => {
    const name = ts.uniqueName("c");
    const r = await raw(ts, "POST", "/collections", {
      name,
      fields: [
        { name: "title", type: "string" },
        { name: "n", type: "int32" },
        { name: "tags", type: "string[]", facet: true },
        { name: ".*_s", type: "string" },
        { name: "id", type: "string" },
      ],
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      name,
      num_documents: 0,
      enable_nested_fields: false,
      token_separators: [],
      symbols_to_index: [],
      default_sorting_field: "",
    });
    expect(typeof r.json.created_at).toBe("number");
    expect(r.json.metadata).toBeUndefined();
    const [title, n, tags, dyn, ...rest] = r.json.fields;
    expect(rest).toEqual([]); // a schema field named id is silently ignored
    expect(title).toMatchObject({
      name: "title",
      type: "string",
      facet: false,
      optional: false,
      index: true,
      sort: false,
      infix: false,
      locale: "",
      stem: false,
      store: true,
    });
    expect(n).toMatchObject({ sort: true, optional: false });
    expect(tags).toMatchObject({ facet: true, sort: false });
    expect(dyn).toMatchObject({ optional: true });
  });

  it("a duplicate name is 409", async () => {
    const name = await makeCollection(ts, [{ name: "a", type: "string" }]);
    const r = await raw(ts, "POST", "/collections", {
      name,
      fields: [{ name: "a", type: "string" }],
    });
    expect(r.status).toBe(409);
    expect(r.json.message).toBe(`A collection with name \`${name}\` already exists.`);
  });

  it("create validation errors use Typesense's texts", async () => {
    expect((await raw(ts, "POST", "/collections", "{not json")).json.message).toBe("Bad JSON.");
    expect(await create400({ fields: [] })).toBe("Parameter `name` is required.");
    expect(await create400({ name: "", fields: [] })).toBe(
      "Parameter `name` must be a non-empty string.",
    );
    const name = ts.uniqueName("bad");
    expect(await create400({ name })).toBe("Parameter `fields` is required.");
    expect(await create400({ name, fields: [] })).toBe(
      "The `fields` value should be an array of objects containing `name`, `type` and optionally, `facet` properties.",
    );
    expect(await create400({ name, fields: [{ name: "a" }] })).toBe(
      "Wrong format for `fields`. It should be an array of objects containing `name`, `type`, `optional` and `facet` properties.",
    );
    expect(await create400({ name, fields: [{ name: "a", type: "strin" }] })).toBe(
      "Field `a` has an invalid data type `strin`, see docs for supported data types.",
    );
    expect(await create400({ name, fields: [{ name: "a", type: "string", facet: "yes" }] })).toBe(
      "The `facet` property of the field `a` should be a boolean.",
    );
    expect(await create400({ name, fields: [{ name: "a", type: "string", optional: 1 }] })).toBe(
      "The `optional` property of the field `a` should be a boolean.",
    );
    expect(await create400({ name, fields: [{ name: "a", type: "string[]", sort: true }] })).toBe(
      "Field `a` cannot be a sortable field.",
    );
    expect(await create400({ name, fields: [{ name: "o", type: "object" }] })).toBe(
      "Type `object` or `object[]` can be used only when nested fields are enabled by setting` enable_nested_fields` to true.",
    );
    expect(
      await create400({
        name,
        fields: [
          { name: "a", type: "string" },
          { name: "a", type: "int32" },
        ],
      }),
    ).toBe("There are duplicate field names in the schema.");
    expect(
      await create400({ name, fields: [{ name: "a", type: "string", facet: true, index: false }] }),
    ).toBe("Field `a` cannot be a facet since it's marked as non-indexable.");
  });

  it("default_sorting_field errors", async () => {
    const name = ts.uniqueName("bad");
    const fields = [
      { name: "n", type: "int32" },
      { name: "o", type: "int32", optional: true },
      { name: "arr", type: "int32[]" },
    ];
    expect(await create400({ name, fields, default_sorting_field: "x" })).toBe(
      "Default sorting field is defined as `x` but is not found in the schema.",
    );
    expect(await create400({ name, fields, default_sorting_field: "arr" })).toBe(
      "Default sorting field `arr` is not a sortable type.",
    );
    expect(await create400({ name, fields, default_sorting_field: "o" })).toBe(
      "Default sorting field `o` cannot be an optional field.",
    );
    expect(await create400({ name, fields, default_sorting_field: "id" })).toBe(
      "Invalid `default_sorting_field` value: cannot be `id`.",
    );
  });

  it("GET one, list newest first, metadata only when set", async () => {
    const first = await makeCollection(ts, [{ name: "a", type: "string" }]);
    const second = await makeCollection(ts, [{ name: "a", type: "string" }], {
      metadata: { v: 1 },
    });
    const one = await raw(ts, "GET", `/collections/${second}`);
    expect(one.json.metadata).toEqual({ v: 1 });
    const list = await raw(ts, "GET", "/collections");
    const names: string[] = list.json.map((c: { name: string }) => c.name);
    expect(names.indexOf(second)).toBeLessThan(names.indexOf(first));
    expect(names.indexOf(first)).toBeGreaterThanOrEqual(0);
  });

  it("DELETE returns the summary before the drop; a missing name has its own 404 text", async () => {
    const name = await makeCollection(ts, [{ name: "a", type: "string" }]);
    await importLines(ts, name, jsonl([{ a: "x" }, { a: "y" }]));
    const del = await raw(ts, "DELETE", `/collections/${name}`);
    expect(del.status).toBe(200);
    expect(del.json).toMatchObject({ name, num_documents: 2 });
    const again = await raw(ts, "DELETE", `/collections/${name}`);
    expect(again.status).toBe(404);
    expect(again.json.message).toBe(`No collection with name \`${name}\` found.`);
  });

  it("the client's exists() and retrieve() work", async () => {
    const name = await makeCollection(ts, [{ name: "a", type: "string" }]);
    expect(await ts.client.collections(name).exists()).toBe(true);
    expect(await ts.client.collections(`${name}_nope`).exists()).toBe(false);
    expect((await ts.client.collections(name).retrieve()).name).toBe(name);
  });
});

describe("PATCH /collections/:c (reference §3)", () => {
  it("adds and drops fields, echoing the normalized payload", async () => {
    const name = await makeCollection(ts, [
      { name: "a", type: "string" },
      { name: "b", type: "int32" },
    ]);
    const r = await raw(ts, "PATCH", `/collections/${name}`, {
      fields: [
        { name: "b", drop: true },
        { name: "b", type: "string", optional: true },
        { name: "c", type: "float", optional: true },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json.fields[0]).toEqual({ name: "b", drop: true });
    expect(r.json.fields[1]).toMatchObject({
      name: "b",
      type: "string",
      optional: true,
      index: true,
    });
    const get = await raw(ts, "GET", `/collections/${name}`);
    expect(
      get.json.fields.map((f: { name: string; type: string }) => `${f.name}:${f.type}`),
    ).toEqual(["a:string", "b:string", "c:float"]);
  });

  it("a re-added string field is searchable", async () => {
    const name = await makeCollection(ts, [{ name: "a", type: "string" }]);
    await importLines(ts, name, jsonl([{ id: "1", a: "x", extra: "hidden gem" }]));
    await raw(ts, "PATCH", `/collections/${name}`, {
      fields: [{ name: "extra", type: "string", optional: true }],
    });
    const s = await raw(ts, "GET", `/collections/${name}/documents/search?q=gem&query_by=extra`);
    expect(s.json.found).toBe(1);
  });

  it("alter errors", async () => {
    const name = await makeCollection(ts, [{ name: "a", type: "string" }]);
    const alter = async (body: unknown) =>
      (await raw(ts, "PATCH", `/collections/${name}`, body)).json.message;
    expect(await alter({})).toBe("Alter payload is empty.");
    expect(await alter({ name: "x" })).toBe(
      "Only `fields` and `metadata` can be updated at the moment.",
    );
    expect(await alter({ fields: [{ name: "zz", drop: true }] })).toBe(
      "Field `zz` is not part of collection schema.",
    );
    expect(await alter({ fields: [{ name: "a", type: "string" }] })).toBe(
      "Field `a` is already part of the schema: To change this field, drop it first before adding it back to the schema.",
    );
    await importLines(ts, name, jsonl([{ a: "x" }]));
    expect(await alter({ fields: [{ name: "req", type: "string" }] })).toBe(
      "Field `req` has been declared in the schema, but is not found in the documents already present in the collection. If you still want to add this field, set it as `optional: true`.",
    );
  });
});
