import { describe, expect, it } from "vitest";
import { useTypesense } from "../support/typesense.js";
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
