import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTypesenseBackend,
  type TypesenseBackend,
  TypesenseError,
} from "../../src/typesense/index.js";
import {
  nonArrayCollections,
  recorder,
  SECRET_PAGE,
  useHostileServers,
} from "../support/hostile-backend.js";
import { useTypesense } from "../support/typesense.js";

// The backend's alias calls against the emulator, or a real Typesense with TYPESENSE_URL.
const ts = useTypesense();
const hostile = useHostileServers({ odd: nonArrayCollections, second: recorder });
let backend: TypesenseBackend;

beforeAll(() => {
  backend = createTypesenseBackend({ nodes: [ts.url], apiKey: ts.apiKey, timeoutMs: 5_000 });
});
afterAll(async () => {
  await backend.close();
});

async function collection(metadata?: Record<string, unknown>): Promise<string> {
  const name = ts.uniqueName("al");
  await backend.createCollection({ name, fields: [{ name: "t", type: "string" }], metadata });
  return name;
}

describe("alias calls of the Typesense backend", () => {
  it("upsertAlias creates and repoints; getAlias, listAliases and deleteAlias see it", async () => {
    const v1 = await collection();
    const v2 = await collection();
    const alias = ts.uniqueName("al");
    expect(await backend.upsertAlias(alias, v1)).toEqual({ name: alias, collection_name: v1 });
    expect(await backend.getAlias(alias)).toEqual({ name: alias, collection_name: v1 });
    expect(await backend.upsertAlias(alias, v2)).toEqual({ name: alias, collection_name: v2 });
    const mine = (await backend.listAliases()).filter((a) => a.name === alias);
    expect(mine).toEqual([{ name: alias, collection_name: v2 }]);
    expect(await backend.deleteAlias(alias)).toEqual({ name: alias, collection_name: v2 });
    expect(await backend.getAlias(alias)).toBeNull();
    // Deleting the alias leaves its collection.
    expect((await backend.getCollection(v2))?.name).toBe(v2);
  });

  it("getAlias and deleteAlias answer null for a missing alias, and for a collection's name", async () => {
    const plain = await collection();
    for (const name of [ts.uniqueName("al"), plain]) {
      expect(await backend.getAlias(name)).toBeNull();
      expect(await backend.deleteAlias(name)).toBeNull();
    }
  });

  it("upsertAlias over a collection's name is a non-retryable rejection with Typesense's text", async () => {
    const plain = await collection();
    const err = await backend.upsertAlias(plain, plain).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypesenseError);
    const te = err as TypesenseError;
    expect(te.status).toBe(500);
    expect(te.kind).toBe("rejected");
    expect(te.retryable).toBe(false);
    expect(te.message).toBe(`Name \`${plain}\` conflicts with an existing collection name.`);
  });

  it("that rejection does not take the node out of the rotation (it is the request's fault)", async () => {
    const plain = await collection();
    // Round-robin over [Typesense, a recorder]: a node marked down would be skipped next time.
    const b = createTypesenseBackend({
      nodes: [ts.url, hostile.second.url],
      apiKey: ts.apiKey,
      timeoutMs: 5_000,
    });
    try {
      await expect(b.upsertAlias(plain, plain)).rejects.toThrow(/conflicts/);
      const before = hostile.second.seen.length;
      await b.verifyKey(); // the recorder's turn
      await b.verifyKey(); // Typesense's turn again, unless the conflict marked it down
      expect(hostile.second.seen.length - before).toBe(1);
    } finally {
      await b.close();
    }
  });

  it("summary, metadata, imports, search and export work through an alias, on the target", async () => {
    const v1 = await collection({ version: 1 });
    const alias = ts.uniqueName("al");
    await backend.upsertAlias(alias, v1);
    const summary = await backend.getCollection(alias);
    expect(summary?.name).toBe(v1);
    expect(summary?.metadata).toEqual({ version: 1 });
    await backend.patchCollectionMetadata(alias, { version: 1, seen: true });
    expect((await backend.getCollection(v1))?.metadata).toEqual({ version: 1, seen: true });
    const lines = await backend.importDocuments(alias, [{ id: "1", t: "hello" }], {
      action: "upsert",
    });
    expect(lines).toEqual([{ ok: true, id: "1" }]);
    expect((await backend.search(alias, { q: "hello", query_by: "t" })).found).toBe(1);
    expect(await backend.exportDocuments(v1)).toEqual([{ id: "1", t: "hello" }]);
    expect(await backend.deleteDocuments(alias, ["1"])).toBe(1);
    expect((await backend.getCollection(v1))?.num_documents).toBe(0);
  });

  it("a dangling alias (its collection dropped) stays listed; its summary is null", async () => {
    const v1 = await collection();
    const alias = ts.uniqueName("al");
    await backend.upsertAlias(alias, v1);
    expect(await backend.deleteCollection(v1)).toBe(true);
    expect(await backend.getAlias(alias)).toEqual({ name: alias, collection_name: v1 });
    expect(await backend.getCollection(alias)).toBeNull();
    const err = await backend.search(alias, { q: "*" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypesenseError);
    expect((err as TypesenseError).status).toBe(404);
  });
});

describe("alias calls against a node that is not Typesense", () => {
  it("an answer that is not an alias is a bad-reply error that does not echo the body", async () => {
    const b = createTypesenseBackend({ nodes: [hostile.odd.url], apiKey: "k", timeoutMs: 2_000 });
    try {
      const calls = [
        () => b.upsertAlias("a", "c"),
        () => b.getAlias("a"),
        () => b.listAliases(),
        () => b.deleteAlias("a"),
      ];
      for (const call of calls) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TypesenseError);
        expect((err as TypesenseError).kind).toBe("reply");
        expect((err as TypesenseError).message).not.toContain(SECRET_PAGE);
      }
    } finally {
      await b.close();
    }
  });
});
