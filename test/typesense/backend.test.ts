import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CollectionNotOwnedError,
  createTypesenseBackend,
  type Document,
  ownerMark,
  type TypesenseBackend,
  TypesenseError,
  type TypesenseField,
  withRetry,
} from "../../src/typesense/index.js";
import { closedPort } from "../support/net.js";
import { itEmulatorOnly, useTypesense } from "../support/typesense.js";

const ts = useTypesense();
let backend: TypesenseBackend;

beforeAll(() => {
  backend = createTypesenseBackend({ nodes: [ts.url], apiKey: ts.apiKey, timeoutMs: 5_000 });
});
afterAll(async () => {
  await backend.close();
});

async function freshCollection(
  fields: TypesenseField[] = [{ name: "title", type: "string" }],
): Promise<string> {
  const name = ts.uniqueName("bk");
  await backend.createCollection({ name, fields });
  return name;
}

describe("importDocuments", () => {
  it("returns one result per line, in order, with Typesense's code and message for rejected lines", async () => {
    const c = await freshCollection([
      { name: "title", type: "string" },
      { name: "n", type: "int32", optional: true },
    ]);
    const first = await backend.importDocuments(
      c,
      [
        { id: "a", title: "ok" },
        { id: "b", title: 5 },
        { id: "c", n: 1 },
        { id: "d", title: "also ok", n: 2 },
      ],
      { action: "upsert" },
    );
    expect(first).toEqual([
      { ok: true, id: "a" },
      { ok: false, id: "b", code: 400, error: "Field `title` must be a string." },
      {
        ok: false,
        id: "c",
        code: 400,
        error: "Field `title` has been declared in the schema, but is not found in the document.",
      },
      { ok: true, id: "d" },
    ]);
    // Pre-serialized lines: a broken line gets its own error, the id of a
    // create conflict comes back, the good line still imports.
    const second = await backend.importDocuments(
      c,
      ['{"id":"a","title":"dup"}', '{"id":"e",', '{"id":"f","title":"new"}'],
      { action: "create" },
    );
    expect(second[0]).toEqual({
      ok: false,
      id: "a",
      code: 409,
      error: "A document with id a already exists.",
    });
    expect(second[1]).toMatchObject({ ok: false, id: "", code: 400 });
    expect(second[1]?.ok === false && second[1].error).toMatch(/^Bad JSON: /);
    expect(second[2]).toEqual({ ok: true, id: "f" });
    const ids = [...(await backend.getDocuments(c, ["a", "b", "c", "d", "e", "f"])).keys()].sort();
    expect(ids).toEqual(["a", "d", "f"]);
  });

  it("rejects a whole request to a missing collection as a non-retryable TypesenseError", async () => {
    const err = await backend
      .importDocuments("no_such_collection_x", [{ id: "1" }], { action: "upsert" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypesenseError);
    expect(err).toMatchObject({ status: 404, kind: "rejected", retryable: false });
  });

  it("refuses lines that would break the one-result-per-line alignment", async () => {
    await expect(
      backend.importDocuments("x", ['{"id":"1"}', ""], { action: "upsert" }),
    ).rejects.toThrow(/line 1 is empty/);
  });
});

describe("withRetry against injected faults", () => {
  itEmulatorOnly("retries 503 Not Ready or Lagging, then succeeds", async () => {
    const c = await freshCollection();
    ts.emulator?.faults.failNext({
      path: "*/documents/import",
      status: 503,
      body: { message: "Not Ready or Lagging" },
      times: 2,
    });
    const retries: Array<[number, unknown]> = [];
    const result = await withRetry(
      () => backend.importDocuments(c, [{ id: "1", title: "t" }], { action: "upsert" }),
      { maxAttempts: 3, baseMs: 1, onRetry: (attempt, err) => retries.push([attempt, err]) },
    );
    expect(result).toEqual([{ ok: true, id: "1" }]);
    expect(retries.map(([a]) => a)).toEqual([1, 2]);
    expect(retries[0]?.[1]).toMatchObject({
      status: 503,
      kind: "server",
      retryable: true,
      message: "Not Ready or Lagging",
    });
  });

  itEmulatorOnly("gives up after maxAttempts with the last retryable error", async () => {
    const c = await freshCollection();
    ts.emulator?.faults.failNext({ path: "*/documents/import", status: 500, times: 5 });
    let attempts = 0;
    const err = await withRetry(
      () => {
        attempts++;
        return backend.importDocuments(c, [{ id: "1", title: "t" }], { action: "upsert" });
      },
      { maxAttempts: 3, baseMs: 1 },
    ).catch((e: unknown) => e);
    expect(attempts).toBe(3);
    expect(err).toMatchObject({ status: 500, retryable: true });
    ts.emulator?.faults.clear();
  });

  it("does not retry a 400", async () => {
    const c = await freshCollection();
    let attempts = 0;
    const err = await withRetry(
      () => {
        attempts++;
        return backend.search(c, { q: "x" });
      },
      { maxAttempts: 5, baseMs: 1 },
    ).catch((e: unknown) => e);
    expect(attempts).toBe(1);
    expect(err).toMatchObject({
      status: 400,
      kind: "rejected",
      retryable: false,
      message: "No search fields specified for the query.",
    });
  });

  itEmulatorOnly("classifies a slow answer as a retryable timeout", async () => {
    const c = await freshCollection();
    const slow = createTypesenseBackend({ nodes: [ts.url], apiKey: ts.apiKey, timeoutMs: 50 });
    ts.emulator?.faults.addLatency({ path: `/collections/${c}`, ms: 1_000, times: 1 });
    const err = await slow.getCollection(c).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "timeout", retryable: true });
    await slow.close();
  });

  itEmulatorOnly("a caller's abort and close() end a request in flight", async () => {
    const c = await freshCollection();
    const own = createTypesenseBackend({ nodes: [ts.url], apiKey: ts.apiKey, timeoutMs: 30_000 });
    ts.emulator?.faults.addLatency({ path: `/collections/${c}`, ms: 30_000, times: 2 });
    const ac = new AbortController();
    const aborted = own.getCollection(c, { signal: ac.signal }).catch((e: unknown) => e);
    const closed = own.getCollection(c).catch((e: unknown) => e);
    ac.abort(new Error("caller gave up"));
    expect(await aborted).toEqual(new Error("caller gave up"));
    await own.close();
    expect(await closed).toEqual(new Error("Typesense backend closed"));
    expect(await own.listCollections().catch((e: unknown) => e)).toEqual(
      new Error("Typesense backend closed"),
    );
    ts.emulator?.faults.clear();
  });

  itEmulatorOnly("an aborted signal stops the retry loop with the abort reason", async () => {
    const c = await freshCollection();
    ts.emulator?.faults.failNext({ path: "*/documents/import", status: 503, times: 10 });
    const ac = new AbortController();
    const err = await withRetry(
      () => backend.importDocuments(c, [{ id: "1", title: "t" }], { action: "upsert" }),
      {
        maxAttempts: 10,
        baseMs: 60_000,
        signal: ac.signal,
        onRetry: () => ac.abort(new Error("shutdown")),
      },
    ).catch((e: unknown) => e);
    expect(err).toEqual(new Error("shutdown"));
    ts.emulator?.faults.clear();
  });
});

describe("ensureCollection", () => {
  const owner = { jobId: "11111111-1111-4111-8111-111111111111", adopt: false };
  /** A collection made by hand (with its own metadata); returns a schema that would add a field. */
  const handMade = async (name: string) => {
    await backend.createCollection({
      name,
      fields: [{ name: "t", type: "string" }],
      metadata: { team: "search" },
    });
    return { name, fields: [{ name: "added", type: "string", optional: true }] };
  };

  it("creates the collection with the job's mark in its metadata", async () => {
    const name = ts.uniqueName("ens_mark");
    await backend.ensureCollection({ name, fields: [{ name: "t", type: "string" }] }, { owner });
    expect((await backend.getCollection(name))?.metadata).toEqual(ownerMark(owner.jobId));
  });

  it("refuses a collection without the job's mark and changes nothing in it", async () => {
    const name = ts.uniqueName("ens_foreign");
    const desired = await handMade(name);
    const err = await backend.ensureCollection(desired, { owner }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectionNotOwnedError);
    expect((err as Error).message).toContain("adopt_existing_collection: true");
    const other = { owner: { ...owner, jobId: "22222222-2222-4222-8222-222222222222" } };
    await backend.patchCollectionMetadata(name, ownerMark(other.owner.jobId));
    const err2 = await backend.ensureCollection(desired, { owner }).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain(`managed by sync job ${other.owner.jobId}`);
    const remote = await backend.getCollection(name);
    expect(remote?.fields.map((f) => f.name)).toEqual(["t"]);
  });

  it("adopts a collection when asked: marks it, keeps its other metadata, then adds fields", async () => {
    const name = ts.uniqueName("ens_adopt");
    const desired = await handMade(name);
    const r = await backend.ensureCollection(desired, { owner: { ...owner, adopt: true } });
    expect(r).toMatchObject({ created: false, adopted: true, addedFields: ["added"] });
    const remote = await backend.getCollection(name);
    expect(remote?.metadata).toEqual({ team: "search", ...ownerMark(owner.jobId) });
    // from now on it is the job's own: no flag needed
    expect(await backend.ensureCollection(desired, { owner })).toMatchObject({ adopted: false });
  });

  it("creates, then adds new fields, and reports changed types without touching them", async () => {
    const name = ts.uniqueName("ens");
    const base: TypesenseField[] = [
      { name: "title", type: "string", optional: true },
      { name: "n", type: "int32", optional: true },
    ];
    expect(await backend.ensureCollection({ name, fields: base }, { owner })).toEqual({
      created: true,
      adopted: false,
      addedFields: [],
      typeConflicts: [],
    });
    const grown = [...base, { name: "added", type: "string[]", optional: true }];
    expect(await backend.ensureCollection({ name, fields: grown }, { owner })).toEqual({
      created: false,
      adopted: false,
      addedFields: ["added"],
      typeConflicts: [],
    });
    const changed = grown.map((f) => (f.name === "n" ? { ...f, type: "int64" } : f));
    expect(
      await backend.ensureCollection(
        { name, fields: [...changed, { name: "obj", type: "object", optional: true }] },
        { owner },
      ),
    ).toEqual({
      created: false,
      adopted: false,
      addedFields: [],
      typeConflicts: [
        { field: "n", existing: "int32", desired: "int64" },
        { field: "obj", existing: "(nested fields disabled)", desired: "object" },
      ],
    });
    const remote = await backend.getCollection(name);
    expect(remote?.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      "title:string",
      "n:int32",
      "added:string[]",
    ]);
  });
});

describe("export, getDocuments and deleteDocuments by id", () => {
  it("fetches more than 1000 ids across chunked id filters", async () => {
    const c = await freshCollection([{ name: "n", type: "int32" }]);
    const docs: Document[] = Array.from({ length: 1500 }, (_, i) => ({ id: `doc-${i}`, n: i }));
    const res = await backend.importDocuments(c, docs, { action: "upsert" });
    expect(res.every((r) => r.ok)).toBe(true);
    const wanted = [...docs.slice(100, 1300).map((d) => d.id), "missing-1", "missing-2"];
    const got = await backend.getDocuments(c, wanted);
    expect(got.size).toBe(1200);
    expect(got.get("doc-777")).toEqual({ id: "doc-777", n: 777 });
    const exported = await backend.exportDocuments(c, { ids: wanted, includeFields: "id" });
    expect(exported.map((d) => d.id).sort()).toEqual(
      docs
        .slice(100, 1300)
        .map((d) => d.id)
        .sort(),
    );
    const all: string[] = [];
    for await (const id of backend.exportIds(c)) all.push(id);
    expect(all.length).toBe(1500);
    expect(
      await backend.deleteDocuments(
        c,
        docs.slice(0, 1100).map((d) => d.id),
      ),
    ).toBe(1100);
    expect(await backend.truncate(c)).toBe(400);
    expect(await backend.exportDocuments(c)).toEqual([]);
  });

  it("deletes ids with commas, brackets, backticks, spaces and operators, and nothing else", async () => {
    const c = await freshCollection();
    const odd = ["a,b", "c`d", "x]y", "[z", " lead", "trail ", "&&or||", "(p)", "100%", "é/ü?#"];
    const keep = ["keep-1", "a", "b"];
    const res = await backend.importDocuments(
      c,
      [...odd, ...keep].map((id) => ({ id, title: id })),
      { action: "upsert" },
    );
    expect(res.filter((r) => !r.ok)).toEqual([]);
    const before = await backend.getDocuments(c, odd);
    expect([...before.keys()].sort()).toEqual([...odd].sort());
    expect(await backend.deleteDocuments(c, [...odd, "never-existed", "with`tick-missing"])).toBe(
      odd.length,
    );
    const left: string[] = [];
    for await (const id of backend.exportIds(c)) left.push(id);
    expect(left.sort()).toEqual([...keep].sort());
  });

  // Typesense stores int64 exactly; so does the emulator (exact JSON parsing).
  it("round-trips int64 beyond 2^53 exactly", async () => {
    const c = await freshCollection([
      { name: "big", type: "int64" },
      { name: "bigs", type: "int64[]", optional: true },
    ]);
    const doc: Document = {
      id: "1",
      big: 9223372036854775807n,
      bigs: [-9223372036854775808n, 9007199254740993n, 1],
    };
    expect(await backend.importDocuments(c, [doc], { action: "upsert" })).toEqual([
      { ok: true, id: "1" },
    ]);
    expect((await backend.getDocuments(c, ["1"])).get("1")).toEqual(doc);
    const found = await backend.search(c, { q: "*", filter_by: "big:>9223372036854775806" });
    expect(found.found).toBe(1);
    expect(found.hits[0]?.document).toEqual(doc);
  });
});

describe("nodes and health", () => {
  it("fails over from an unreachable node and reports per-node health", async () => {
    const dead = await closedPort();
    const multi = createTypesenseBackend({
      nodes: [dead, ts.url],
      apiKey: ts.apiKey,
      timeoutMs: 5_000,
    });
    for (let i = 0; i < 3; i++) expect(Array.isArray(await multi.listCollections())).toBe(true);
    const h = await multi.health();
    expect(h.ok).toBe(true);
    expect(h.nodes.map((n) => [n.node, n.ok])).toEqual([
      [dead, false],
      [ts.url, true],
    ]);
    await multi.close();
    const onlyDead = createTypesenseBackend({ nodes: [dead], apiKey: ts.apiKey, timeoutMs: 5_000 });
    expect(await onlyDead.listCollections().catch((e: unknown) => e)).toMatchObject({
      kind: "network",
      retryable: true,
    });
    expect((await onlyDead.health()).ok).toBe(false);
    await onlyDead.close();
  });

  it("answers a wrong API key with a non-retryable 401", async () => {
    const bad = createTypesenseBackend({ nodes: [ts.url], apiKey: "wrong", timeoutMs: 5_000 });
    expect(await bad.listCollections().catch((e: unknown) => e)).toMatchObject({
      status: 401,
      kind: "rejected",
      retryable: false,
    });
    await bad.close();
  });

  it("sends searches with a long filter through multi_search", async () => {
    const c = await freshCollection();
    await backend.importDocuments(c, [{ id: "x1", title: "hello world" }], { action: "upsert" });
    const many = Array.from({ length: 400 }, (_, i) => `\`id-${i}\``).join(",");
    const r = await backend.search(c, {
      q: "hello",
      query_by: "title",
      filter_by: `id:[${many},x1]`,
    });
    expect(r.found).toBe(1);
    expect(r.hits[0]?.document).toEqual({ id: "x1", title: "hello world" });
  });
});
