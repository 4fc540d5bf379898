import { type Client, Errors } from "typesense";
import { beforeAll, describe, expect, it } from "vitest";
import { useListeningServer } from "../http/fixture.js";
import { useSyncedJob } from "../http/synced-job.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { gatewayClient, mintSearchKey, TENANT_DOCS } from "./support.js";

const db = useTestDatabase();
const ts = useTypesense();
const job = useSyncedJob(db, ts, silentLogger, { source: TENANT_DOCS });
const server = useListeningServer(job.t, silentLogger);

type Doc = { id: string; tenant_id: number; category: string; secret?: string; title: string };
const keys = { a: "", b: "", otherJob: "", otherCollection: "" };

beforeAll(async () => {
  keys.a = (await mintSearchKey(job, { job_ids: [job.jobId], filter_by: "tenant_id:=1" })).token;
  // a second job (another collection) and a key for it only
  keys.otherCollection = ts.uniqueName("other");
  const j = await job.call("POST", "/typesense/sync-jobs", {
    profile_id: job.backendId,
    source_client_name: "app",
    source_table_name: "docs",
    collection_name: keys.otherCollection,
    document_id_column: "id",
    queryable_fields: ["title"],
  });
  keys.otherJob = j.json.data.id as string;
  keys.b = (
    await mintSearchKey(job, { job_ids: [keys.otherJob], filter_by: "tenant_id:=2" })
  ).token;
});

const client = (key: string, opts = {}) => gatewayClient(server.base, key, opts);
const search = (c: Client, params: Record<string, unknown>) =>
  c
    .collections<Doc>(job.collection)
    .documents()
    .search({ q: "*", ...params } as never);

describe("the official typesense client, configured with path /typesense-api", () => {
  it("searches a bound job's collection: only the key's tenant, Typesense's answer", async () => {
    const r = await search(client(keys.a), { q: "widget", query_by: "title", per_page: 50 });
    expect(r.found).toBe(30);
    expect(r.hits?.every((h) => h.document.tenant_id === 1)).toBe(true);
    // searched through the job's alias: Typesense names the version it answered from
    expect(r.request_params?.collection_name).toBe(`${job.collection}__v1`);
  });

  it("AND-s the caller's filter_by with the key's", async () => {
    const r = await search(client(keys.a), { filter_by: "category:=tools", per_page: 50 });
    expect(r.found).toBeGreaterThan(0);
    for (const h of r.hits ?? [])
      expect([h.document.tenant_id, h.document.category]).toEqual([1, "tools"]);
  });

  it("multi-searches, and the key's filter holds in every search", async () => {
    const r = await client(keys.a).multiSearch.perform({
      searches: [
        { collection: job.collection, q: "*", per_page: 50 },
        { collection: job.collection, q: "blue", query_by: "title", filter_by: "tenant_id:=2" },
      ],
    });
    const [all, other] = r.results as { found: number; hits: { document: Doc }[] }[];
    expect(all!.found).toBe(30);
    expect(all!.hits.every((h) => h.document.tenant_id === 1)).toBe(true);
    expect(other!.found).toBe(0);
  });

  it("multi-searches collections of two backends: results in request order, each scoped", async () => {
    // a second backend (the same server under another profile) with a collection of its own
    const other = ts.uniqueName("second");
    await ts.client.collections().create({
      name: other,
      fields: [
        { name: "tenant_id", type: "int32" },
        { name: "title", type: "string" },
      ],
    });
    await ts.client
      .collections(other)
      .documents()
      .import([
        { id: "1", tenant_id: 2, title: "T2x1" },
        { id: "2", tenant_id: 1, title: "T1x2" },
      ]);
    const b = await job.call("POST", "/typesense/backends", {
      name: "second",
      base_url: ts.url,
      api_key: ts.apiKey,
    });
    const j = await job.call("POST", "/typesense/sync-jobs", {
      profile_id: b.json.data.id,
      source_client_name: "app",
      source_table_name: "docs",
      collection_name: other,
      document_id_column: "id",
      queryable_fields: ["title"],
    });
    const both = (
      await mintSearchKey(job, { job_ids: [job.jobId, j.json.data.id], filter_by: "tenant_id:=1" })
    ).token;
    const r = await client(both).multiSearch.perform({
      searches: [
        { collection: other, q: "*" },
        { collection: job.collection, q: "*" },
        { collection: other, q: "*", filter_by: "tenant_id:=2" },
      ],
    });
    const [first, second, third] = r.results as { found: number; hits: { document: Doc }[] }[];
    expect(first!.hits.map((h) => h.document.id)).toEqual(["2"]);
    expect(second!.found).toBe(30);
    expect(third!.found).toBe(0);
  });

  it("an empty multi_search is Typesense's empty result list", async () => {
    expect(await client(keys.a).multiSearch.perform({ searches: [] })).toEqual({ results: [] });
  });

  it("multi-searches with union: one merged result, still one tenant", async () => {
    const r = (await client(keys.a).multiSearch.perform(
      {
        union: true,
        searches: [
          { collection: job.collection, q: "red", query_by: "title" },
          { collection: job.collection, q: "green", query_by: "title" },
        ],
      },
      { per_page: 50 },
    )) as unknown as { found: number; hits: { document: Doc }[] };
    expect(r.found).toBe(20);
    expect(r.hits).toHaveLength(20);
    expect(r.hits.every((h) => h.document.tenant_id === 1)).toBe(true);
  });

  it("caps deep paging at the key's limit_hits", async () => {
    const k = (await mintSearchKey(job, { job_ids: [job.jobId], limit_hits: 5 })).token;
    const r = await search(client(k), { per_page: 3, page: 2 });
    expect(r.hits).toHaveLength(2);
    expect((await search(client(k), { per_page: 3, page: 3 })).hits).toHaveLength(0);
  });

  it("passes Typesense's answer through as it is: the backend's bytes, int64 exact", async () => {
    const q = "q=*&sort_by=big:asc&per_page=3";
    const via = await fetch(
      `${server.base}/typesense-api/collections/${job.collection}/documents/search?${q}`,
      {
        headers: { "X-TYPESENSE-API-KEY": keys.a },
      },
    );
    // what the gateway sends for this key: the forced filter, curated hits filtered
    const direct = await fetch(
      `${ts.url}/collections/${job.collection}/documents/search?${q}&filter_by=${encodeURIComponent("(tenant_id:=1)")}&filter_curated_hits=true`,
      { headers: { "X-TYPESENSE-API-KEY": ts.apiKey } },
    );
    const [a, b] = [await via.text(), await direct.text()];
    const timeless = (t: string) => t.replace(/"search_time_ms":\d+/, "");
    expect(timeless(a)).toBe(timeless(b));
    expect(a).toContain('"big":9007199254740995'); // id 2, above 2^53: no float on the way
  });

  it("reads the collection's schema", async () => {
    const c = await client(keys.a).collections(job.collection).retrieve();
    // retrieved through the job's alias: Typesense's answer names the live version
    expect(c.name).toBe(`${job.collection}__v1`);
    expect(c.fields.map((f) => f.name)).toContain("tenant_id");
  });

  it("accepts the key as the x-typesense-api-key query parameter (the search client's default)", async () => {
    const r = await search(client(keys.a, { sendApiKeyAsQueryParam: true }), { per_page: 1 });
    expect(r.found).toBe(30);
  });
});

describe("keys minted with generateScopedSearchKey from a search key", () => {
  it("are accepted and their embedded filter is enforced on top of the parent's", async () => {
    const scoped = ts.client
      .keys()
      .generateScopedSearchKey(keys.a, { filter_by: "category:=tools", per_page: 3 });
    const r = await search(client(scoped), { per_page: 50 });
    expect(r.found).toBeGreaterThan(0);
    expect(r.hits).toHaveLength(3); // the embedded per_page caps the caller's 50
    for (const h of r.hits ?? [])
      expect([h.document.tenant_id, h.document.category]).toEqual([1, "tools"]);
  });

  it("cannot widen the parent: an embedded filter for the other tenant finds nothing", async () => {
    const scoped = ts.client.keys().generateScopedSearchKey(keys.a, { filter_by: "tenant_id:=2" });
    expect((await search(client(scoped), {})).found).toBe(0);
  });

  it("an expired one is refused with 401", async () => {
    const scoped = ts.client
      .keys()
      .generateScopedSearchKey(keys.a, { expires_at: Math.floor(Date.now() / 1000) - 10 });
    await expect(search(client(scoped), {})).rejects.toBeInstanceOf(Errors.RequestUnauthorized);
  });

  it("one signed with another key (or tampered with) is refused with 401", async () => {
    const forged = ts.client
      .keys()
      .generateScopedSearchKey(`${keys.a.slice(0, 4)}${"0".repeat(60)}`, { filter_by: "x:=1" });
    await expect(search(client(forged), {})).rejects.toBeInstanceOf(Errors.RequestUnauthorized);
  });
});

describe("refusals look like Typesense's", () => {
  it("a wrong key is 401 with Typesense's text", async () => {
    const res = await fetch(`${server.base}/typesense-api/collections/${job.collection}`, {
      headers: { "X-TYPESENSE-API-KEY": "f".repeat(64) },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      message: "Forbidden - a valid `x-typesense-api-key` header must be sent.",
    });
    await expect(search(client("wrong"), {})).rejects.toBeInstanceOf(Errors.RequestUnauthorized);
  });

  it("a bad key is 401 even with a malformed body (auth before parsing)", async () => {
    const res = await fetch(`${server.base}/typesense-api/multi_search`, {
      method: "POST",
      headers: { "X-TYPESENSE-API-KEY": "nope", "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(401);
  });

  it("another tenant's job is 404 Not Found, both ways, also inside multi_search", async () => {
    const mine = client(keys.a).collections(keys.otherCollection).documents();
    await expect(mine.search({ q: "*" })).rejects.toBeInstanceOf(Errors.ObjectNotFound);
    await expect(search(client(keys.b), {})).rejects.toBeInstanceOf(Errors.ObjectNotFound);
    await expect(
      client(keys.a).multiSearch.perform({
        searches: [{ collection: job.collection }, { collection: keys.otherCollection }],
      }),
    ).rejects.toBeInstanceOf(Errors.ObjectNotFound);
    const res = await fetch(`${server.base}/typesense-api/collections/${keys.otherCollection}`, {
      headers: { "X-TYPESENSE-API-KEY": keys.a },
    });
    expect([res.status, await res.json()]).toEqual([404, { message: "Not Found" }]);
  });

  it("a disabled job is 404 for its keys", async () => {
    const k = (await mintSearchKey(job, { job_ids: [keys.otherJob] })).token;
    const res = (key: string) =>
      fetch(`${server.base}/typesense-api/collections/${keys.otherCollection}`, {
        headers: { "X-TYPESENSE-API-KEY": key },
      });
    // the other job's collection was never synced: 404 from Typesense itself before
    expect((await res(k)).status).toBe(404);
    await job.call("PATCH", `/typesense/sync-jobs/${keys.otherJob}`, { enabled: false });
    const after = await res(k);
    expect([after.status, await after.json()]).toEqual([404, { message: "Not Found" }]);
  });

  it("GET /health needs no key; an unknown route is 404 Not Found", async () => {
    const h = await fetch(`${server.base}/typesense-api/health`);
    expect([h.status, await h.json()]).toEqual([200, { ok: true }]);
    const n = await fetch(`${server.base}/typesense-api/keys`);
    expect([n.status, await n.json()]).toEqual([404, { message: "Not Found" }]);
  });
});
