import { Errors } from "typesense";
import { describe, expect, it } from "vitest";
import { itEmulatorOnly, useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();
const FIELDS = [
  { name: "title", type: "string" },
  { name: "n", type: "int32", optional: true },
  { name: "tags", type: "string[]", optional: true },
];

async function seeded(): Promise<string> {
  const name = await makeCollection(ts, FIELDS);
  await importLines(
    ts,
    name,
    jsonl([
      { id: "1", title: "one", n: 1, tags: ["odd"] },
      { id: "2", title: "two", n: 2, tags: ["even"] },
      { id: "3", title: "three", n: 3, tags: ["odd"] },
    ]),
  );
  return name;
}

describe("single documents (reference §4)", () => {
  it("POST creates with 201 and the stored doc; per-document failures use their own status", async () => {
    const name = await makeCollection(ts, FIELDS);
    const ok = await raw(ts, "POST", `/collections/${name}/documents`, { id: "a", title: "x" });
    expect(ok.status).toBe(201);
    expect(ok.json).toEqual({ id: "a", title: "x" });
    const dup = await raw(ts, "POST", `/collections/${name}/documents`, { id: "a", title: "x" });
    expect(dup.status).toBe(409);
    expect(dup.json).toEqual({ message: "A document with id a already exists." });
    const bad = await raw(ts, "POST", `/collections/${name}/documents`, { id: "b", title: 1 });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe("Field `title` must be a string.");
    const upd = await raw(ts, "POST", `/collections/${name}/documents?action=update`, {
      id: "zz",
      n: 1,
    });
    expect(upd.status).toBe(404);
    const act = await raw(ts, "POST", `/collections/${name}/documents?action=nope`, {
      id: "q",
      title: "x",
    });
    expect(act.status).toBe(400);
    expect(act.json.message).toBe("Parameter `action` must be a create|update|upsert.");
  });

  it("update and emplace of an existing doc return the full merged doc", async () => {
    const name = await seeded();
    const docs = ts.client.collections(name).documents();
    expect(await docs.update({ id: "1", n: 10 }, {})).toEqual({
      id: "1",
      title: "one",
      n: 10,
      tags: ["odd"],
    });
    expect(await docs.emplace({ id: "1", title: "uno" }, {})).toEqual({
      id: "1",
      title: "uno",
      n: 10,
      tags: ["odd"],
    });
    expect(await docs.emplace({ id: "9", title: "nine" }, {})).toEqual({ id: "9", title: "nine" });
  });

  it("GET with include/exclude fields; missing is 404 with the id", async () => {
    const name = await seeded();
    const r = await raw(ts, "GET", `/collections/${name}/documents/1?include_fields=title,n`);
    expect(r.json).toEqual({ title: "one", n: 1 });
    const ex = await raw(ts, "GET", `/collections/${name}/documents/1?exclude_fields=tags`);
    expect(ex.json).toEqual({ id: "1", title: "one", n: 1 });
    const miss = await raw(ts, "GET", `/collections/${name}/documents/nope`);
    expect(miss.status).toBe(404);
    expect(miss.json.message).toBe("Could not find a document with id: nope");
    const err = await ts.client
      .collections(name)
      .documents("nope")
      .retrieve()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.ObjectNotFound);
  });

  it("PATCH merges (null removes a field) and returns the full doc; missing is 404", async () => {
    const name = await seeded();
    const r = await raw(ts, "PATCH", `/collections/${name}/documents/1`, { n: null, extra: "e" });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: "1", title: "one", tags: ["odd"], extra: "e" });
    const miss = await raw(ts, "PATCH", `/collections/${name}/documents/nope`, { n: 1 });
    expect(miss.status).toBe(404);
    expect(miss.json.message).toBe("Could not find a document with id: nope");
    const bad = await raw(ts, "PATCH", `/collections/${name}/documents/1`, { n: "x" });
    expect(bad.status).toBe(400);
  });

  it("DELETE returns the deleted doc; ignore_not_found gives {id}", async () => {
    const name = await seeded();
    const del = await raw(ts, "DELETE", `/collections/${name}/documents/2`);
    expect(del.json).toEqual({ id: "2", title: "two", n: 2, tags: ["even"] });
    const miss = await raw(ts, "DELETE", `/collections/${name}/documents/2`);
    expect(miss.status).toBe(404);
    expect(miss.json.message).toBe("Could not find a document with id: 2");
    const ign = await raw(ts, "DELETE", `/collections/${name}/documents/2?ignore_not_found=true`);
    expect(ign.status).toBe(200);
    expect(ign.json).toEqual({ id: "2" });
  });

  // Typesense advises URL-safe ids; the emulator decodes %2F in paths, a real server may not.
  itEmulatorOnly("ids with URL-unsafe characters round-trip through the client", async () => {
    const name = await makeCollection(ts, FIELDS);
    const docs = ts.client.collections(name).documents();
    await docs.create({ id: "a/b c?d", title: "x" });
    expect(await ts.client.collections(name).documents("a/b c?d").retrieve()).toEqual({
      id: "a/b c?d",
      title: "x",
    });
  });
});

describe("delete and update by filter (reference §4)", () => {
  it("delete by filter counts; truncate deletes all; return_id/return_doc (v29)", async () => {
    const name = await seeded();
    const r = await raw(
      ts,
      "DELETE",
      `/collections/${name}/documents?filter_by=tags:odd&batch_size=1&return_id=true`,
    );
    expect(r.json).toEqual({ num_deleted: 2, ids: ["1", "3"] });
    const none = await raw(ts, "DELETE", `/collections/${name}/documents?filter_by=n:>100`);
    expect(none.json).toEqual({ num_deleted: 0 });
    await importLines(ts, name, jsonl([{ id: "x", title: "x" }]));
    const all = await raw(ts, "DELETE", `/collections/${name}/documents?truncate=true`);
    expect(all.json).toEqual({ num_deleted: 2 });
    expect((await raw(ts, "GET", `/collections/${name}`)).json.num_documents).toBe(0);
  });

  it("delete by filter errors", async () => {
    const name = await seeded();
    const missing = await raw(ts, "DELETE", `/collections/${name}/documents`);
    expect(missing.status).toBe(400);
    expect(missing.json.message).toBe("Parameter `filter_by` must be provided.");
    const unknown = await raw(ts, "DELETE", `/collections/${name}/documents?filter_by=nope:1`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toBe("Could not find a filter field named `nope` in the schema.");
  });

  it("update by filter", async () => {
    const name = await seeded();
    const res = await ts.client
      .collections(name)
      .documents()
      .update({ n: 0 }, { filter_by: "tags:odd" });
    expect(res).toEqual({ num_updated: 2 });
    expect((await raw(ts, "GET", `/collections/${name}/documents/3`)).json.n).toBe(0);
    expect((await raw(ts, "GET", `/collections/${name}/documents/2`)).json.n).toBe(2);
  });
});

describe("nested fields (enable_nested_fields)", () => {
  it("object fields validate; dotted fields are searchable, filterable and facetable", async () => {
    const name = await makeCollection(
      ts,
      [
        { name: "meta", type: "object" },
        { name: "meta.color", type: "string", facet: true },
        { name: "meta.size", type: "int32", optional: true },
      ],
      { enable_nested_fields: true },
    );
    const r = await importLines(
      ts,
      name,
      jsonl([
        { id: "1", meta: { color: "dark red", size: 3 } },
        { id: "2", meta: { color: "blue", size: 5 } },
        { id: "3", meta: "flat" },
      ]),
    );
    expect(r.text.split("\n").map((l) => JSON.parse(l))).toEqual([
      { success: true },
      { success: true },
      { code: 400, error: "Field `meta` must be an object.", success: false },
    ]);
    const s = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=red&query_by=meta.color&facet_by=meta.color`,
    );
    expect(s.json.hits.map((h: { document: { id: string } }) => h.document.id)).toEqual(["1"]);
    expect(s.json.facet_counts[0].counts).toEqual([
      { count: 1, highlighted: "dark red", value: "dark red" },
    ]);
    const f = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=*&filter_by=meta.size:>4`,
    );
    expect(f.json.hits.map((h: { document: { id: string } }) => h.document.id)).toEqual(["2"]);
  });
});
