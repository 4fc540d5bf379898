import { describe, expect, it } from "vitest";
import { itEmulatorOnly, useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();

describe("aliases (reference §7)", () => {
  it("PUT/GET/list/DELETE", async () => {
    const target = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const alias = ts.uniqueName("a");
    const put = await raw(ts, "PUT", `/aliases/${alias}`, { collection_name: target });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ name: alias, collection_name: target });
    expect((await raw(ts, "GET", `/aliases/${alias}`)).json).toEqual({
      name: alias,
      collection_name: target,
    });
    const list = await raw(ts, "GET", "/aliases");
    expect(list.json.aliases).toContainEqual({ name: alias, collection_name: target });
    expect((await ts.client.aliases(alias).retrieve()).collection_name).toBe(target);
    const del = await raw(ts, "DELETE", `/aliases/${alias}`);
    expect(del.json).toEqual({ name: alias, collection_name: target });
    const gone = await raw(ts, "GET", `/aliases/${alias}`);
    expect(gone.status).toBe(404);
    expect((await raw(ts, "DELETE", `/aliases/${alias}`)).status).toBe(404);
  });

  it("the target is not checked; a missing collection_name is 400; a collection name conflicts", async () => {
    const alias = ts.uniqueName("a");
    const dangling = await raw(ts, "PUT", `/aliases/${alias}`, {
      collection_name: "does_not_exist_yet",
    });
    expect(dangling.status).toBe(200);
    const missing = await raw(ts, "PUT", `/aliases/${alias}`, {});
    expect(missing.status).toBe(400);
    expect(missing.json.message).toBe("Parameter `collection_name` is required.");
    const coll = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const conflict = await raw(ts, "PUT", `/aliases/${coll}`, { collection_name: coll });
    expect(conflict.status).toBe(500);
    expect(conflict.json.message).toBe(
      `Name \`${coll}\` conflicts with an existing collection name.`,
    );
  });

  it("every collection path resolves an alias; responses show the real name", async () => {
    const target = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const alias = ts.uniqueName("a");
    await ts.client.aliases().upsert(alias, { collection_name: target });
    const via = ts.client.collections(alias);
    await via.documents().import([{ id: "1", t: "hello" }]);
    await via.documents().create({ id: "2", t: "world" });
    expect(await via.documents("1").retrieve()).toEqual({ id: "1", t: "hello" });
    await via.documents("2").update({ t: "there" });
    const s = await via.documents().search({ q: "hello", query_by: "t" });
    expect(s.found).toBe(1);
    expect(s.request_params.collection_name).toBe(target);
    expect(await via.documents().export()).toBe('{"id":"1","t":"hello"}\n{"id":"2","t":"there"}');
    expect((await via.retrieve()).name).toBe(target);
    const ms = await ts.client.multiSearch.perform({ searches: [{ collection: alias, q: "*" }] });
    expect((ms.results[0] as unknown as { found: number }).found).toBe(2);
    await via.documents("2").delete();
    expect((await via.retrieve()).num_documents).toBe(1);
  });

  it("a real collection wins over an alias of the same name; DELETE via alias drops the target", async () => {
    const a = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const b = await makeCollection(ts, [{ name: "t", type: "string" }]);
    await importLines(ts, b, jsonl([{ t: "x" }]));
    const alias = ts.uniqueName("a");
    await raw(ts, "PUT", `/aliases/${alias}`, { collection_name: b });
    // Swap the alias (blue/green): searches follow immediately.
    await raw(ts, "PUT", `/aliases/${alias}`, { collection_name: a });
    expect((await raw(ts, "GET", `/collections/${alias}`)).json.name).toBe(a);
    const del = await raw(ts, "DELETE", `/collections/${alias}`);
    expect(del.json.name).toBe(a);
    expect((await raw(ts, "GET", `/collections/${a}`)).status).toBe(404);
    expect((await raw(ts, "GET", `/collections/${b}`)).json.num_documents).toBe(1);
  });
});

/*
 * Typesense v30 (collection_manager.cpp, core_api.cpp): an alias is a name -> name entry. A
 * path resolves a real collection first, then an alias whose target is a real collection
 * (one hop, never an alias of an alias). Dropping a collection leaves its aliases in place.
 */
describe("aliases: upsert, repoint, listing and missing aliases (v30)", () => {
  it("a missing alias answers GET and DELETE with 404 Collection not found", async () => {
    const alias = ts.uniqueName("a");
    for (const method of ["GET", "DELETE"]) {
      const r = await raw(ts, method, `/aliases/${alias}`);
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ message: "Collection not found" });
    }
  });

  it("PUT answers its body with name set to the alias, keys sorted", async () => {
    const target = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const alias = ts.uniqueName("a");
    const put = await raw(ts, "PUT", `/aliases/${alias}`, {
      name: "ignored",
      note: "kept in the echo",
      collection_name: target,
    });
    expect(put.status).toBe(200);
    expect(put.text).toBe(
      `{"collection_name":"${target}","name":"${alias}","note":"kept in the echo"}`,
    );
    // Only the target is stored.
    expect((await raw(ts, "GET", `/aliases/${alias}`)).json).toEqual({
      collection_name: target,
      name: alias,
    });
  });

  it("a second PUT repoints the alias: one listing entry, reads follow the new target at once", async () => {
    const blue = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const green = await makeCollection(ts, [{ name: "t", type: "string" }]);
    await importLines(ts, blue, jsonl([{ id: "b", t: "blue" }]));
    await importLines(ts, green, jsonl([{ id: "g", t: "green" }]));
    const alias = ts.uniqueName("a");
    await raw(ts, "PUT", `/aliases/${alias}`, { collection_name: blue });
    const before = await raw(ts, "GET", `/collections/${alias}/documents/search?q=*`);
    expect(before.json.hits.map((h: { document: { id: string } }) => h.document.id)).toEqual(["b"]);
    const repoint = await raw(ts, "PUT", `/aliases/${alias}`, { collection_name: green });
    expect(repoint.json).toEqual({ collection_name: green, name: alias });
    const after = await raw(ts, "GET", `/collections/${alias}/documents/search?q=*`);
    expect(after.json.hits.map((h: { document: { id: string } }) => h.document.id)).toEqual(["g"]);
    const mine = (await raw(ts, "GET", "/aliases")).json.aliases.filter(
      (a: { name: string }) => a.name === alias,
    );
    expect(mine).toEqual([{ collection_name: green, name: alias }]);
    // The old target is untouched.
    expect((await raw(ts, "GET", `/collections/${blue}`)).json.num_documents).toBe(1);
  });

  itEmulatorOnly("a collection_name that is not a string is a 400 naming it", async () => {
    // Typesense has no check here (its JSON conversion throws inside the server): emulator only.
    const r = await raw(ts, "PUT", `/aliases/${ts.uniqueName("a")}`, { collection_name: 5 });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe("Parameter `collection_name` must be a string.");
  });

  it("an alias of an alias is not followed", async () => {
    const target = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const first = ts.uniqueName("a");
    const second = ts.uniqueName("a");
    await raw(ts, "PUT", `/aliases/${first}`, { collection_name: target });
    expect((await raw(ts, "PUT", `/aliases/${second}`, { collection_name: first })).status).toBe(
      200,
    );
    expect((await raw(ts, "GET", `/collections/${first}`)).json.name).toBe(target);
    const r = await raw(ts, "GET", `/collections/${second}`);
    expect(r.status).toBe(404);
    expect(r.json.message).toBe("Collection not found");
  });
});

describe("writes and reads through an alias (v30)", () => {
  it("delete-by-filter, update-by-filter and PATCH of the collection act on the target", async () => {
    const target = await makeCollection(ts, [
      { name: "t", type: "string" },
      { name: "n", type: "int32" },
    ]);
    const alias = ts.uniqueName("a");
    await raw(ts, "PUT", `/aliases/${alias}`, { collection_name: target });
    const imported = await importLines(
      ts,
      alias,
      jsonl([
        { id: "1", t: "a", n: 1 },
        { id: "2", t: "b", n: 2 },
        { id: "3", t: "c", n: 3 },
      ]),
    );
    expect(imported.text).toBe('{"success":true}\n{"success":true}\n{"success":true}');
    const del = await raw(ts, "DELETE", `/collections/${alias}/documents?filter_by=n:>2`);
    expect(del.status).toBe(200);
    expect(del.json).toEqual({ num_deleted: 1 });
    const upd = await raw(ts, "PATCH", `/collections/${alias}/documents?filter_by=n:=1`, {
      t: "z",
    });
    expect(upd.json).toEqual({ num_updated: 1 });
    const patch = await raw(ts, "PATCH", `/collections/${alias}`, { metadata: { v: 2 } });
    expect(patch.status).toBe(200);
    const summary = (await raw(ts, "GET", `/collections/${target}`)).json;
    expect(summary.num_documents).toBe(2);
    expect(summary.metadata).toEqual({ v: 2 });
    const exported = await raw(ts, "GET", `/collections/${alias}/documents/export`);
    expect(exported.text).toBe('{"id":"1","n":1,"t":"z"}\n{"id":"2","n":2,"t":"b"}');
    const one = await raw(ts, "DELETE", `/collections/${alias}/documents/2`);
    expect(one.json).toEqual({ id: "2", n: 2, t: "b" });
    expect((await raw(ts, "GET", `/collections/${alias}/documents/2`)).status).toBe(404);
  });
});

describe("a collection behind an alias is deleted (v30: the alias stays, dangling)", () => {
  it("the alias is still listed; every path through it is 404 until the target exists again", async () => {
    const fields = [{ name: "t", type: "string" }];
    const target = await makeCollection(ts, fields);
    const alias = ts.uniqueName("a");
    await raw(ts, "PUT", `/aliases/${alias}`, { collection_name: target });
    expect((await raw(ts, "DELETE", `/collections/${target}`)).status).toBe(200);

    expect((await raw(ts, "GET", `/aliases/${alias}`)).json).toEqual({
      collection_name: target,
      name: alias,
    });
    expect((await raw(ts, "GET", "/aliases")).json.aliases).toContainEqual({
      collection_name: target,
      name: alias,
    });
    const notFound = [
      await raw(ts, "GET", `/collections/${alias}`),
      await raw(ts, "GET", `/collections/${alias}/documents/search?q=*`),
      await raw(ts, "GET", `/collections/${alias}/documents/export`),
      await raw(ts, "GET", `/collections/${alias}/documents/1`),
      await raw(ts, "DELETE", `/collections/${alias}/documents?filter_by=t:x`),
      await importLines(ts, alias, jsonl([{ id: "1", t: "x" }])),
    ];
    for (const r of notFound) {
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ message: "Collection not found" });
    }
    const ms = await raw(ts, "POST", "/multi_search", {
      searches: [{ collection: alias, q: "*" }],
    });
    expect(ms.json.results).toEqual([{ code: 404, error: "Collection not found" }]);
    const drop = await raw(ts, "DELETE", `/collections/${alias}`);
    expect(drop.status).toBe(404);
    expect(drop.json.message).toBe(`No collection with name \`${alias}\` found.`);

    // A new collection under the target's name is served through the alias again.
    const again = await raw(ts, "POST", "/collections", { name: target, fields });
    expect(again.status).toBe(201);
    expect((await raw(ts, "GET", `/collections/${alias}`)).json.name).toBe(target);
  });
});

describe("alias and collection names (v30)", () => {
  it("a collection may take an alias' name and then wins over it; the alias stays", async () => {
    const fields = [{ name: "t", type: "string" }];
    const target = await makeCollection(ts, fields);
    const name = ts.uniqueName("a");
    await raw(ts, "PUT", `/aliases/${name}`, { collection_name: target });
    const created = await raw(ts, "POST", "/collections", { name, fields });
    expect(created.status).toBe(201);
    expect((await raw(ts, "GET", `/collections/${name}`)).json.name).toBe(name);
    expect((await raw(ts, "GET", `/aliases/${name}`)).json.collection_name).toBe(target);
    // Now a collection holds the name: repointing the alias is refused.
    const conflict = await raw(ts, "PUT", `/aliases/${name}`, { collection_name: target });
    expect(conflict.status).toBe(500);
    expect(conflict.json.message).toBe(
      `Name \`${name}\` conflicts with an existing collection name.`,
    );
    // The alias can still be deleted; the collection of that name is not touched.
    expect((await raw(ts, "DELETE", `/aliases/${name}`)).status).toBe(200);
    expect((await raw(ts, "GET", `/collections/${name}`)).status).toBe(200);
  });
});
