import { describe, expect, it } from "vitest";
import { useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();
const FORBIDDEN = "Forbidden - a valid `x-typesense-api-key` header must be sent.";

describe("wire conventions, auth and health (reference §0-§2)", () => {
  it("GET /health needs no key and answers {ok:true}", async () => {
    const r = await raw(ts, "GET", "/health", undefined, { key: null });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true });
  });

  it("an unknown route is 404 Not Found before auth runs", async () => {
    const r = await raw(ts, "GET", "/no/such/route", undefined, { key: null });
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ message: "Not Found" });
  });

  it("a missing or wrong key is 401 with the exact text", async () => {
    const missing = await raw(ts, "GET", "/collections", undefined, { key: null });
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ message: FORBIDDEN });
    const wrong = await raw(ts, "GET", "/collections", undefined, { key: "nope" });
    expect(wrong.status).toBe(401);
  });

  it("the key works as a query param, and the header wins over it", async () => {
    const q = `?x-typesense-api-key=${encodeURIComponent(ts.apiKey)}`;
    const viaQuery = await raw(ts, "GET", `/collections${q}`, undefined, { key: null });
    expect(viaQuery.status).toBe(200);
    const headerWrong = await raw(ts, "GET", `/collections${q}`, undefined, { key: "wrong" });
    expect(headerWrong.status).toBe(401);
  });

  it("the header name is case-insensitive", async () => {
    const r = await raw(ts, "GET", "/collections", undefined, {
      key: null,
      headers: { "x-typesense-api-key": ts.apiKey },
    });
    expect(r.status).toBe(200);
  });

  it("JSON replies are application/json; import and export are text/plain", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const get = await raw(ts, "GET", `/collections/${name}`);
    expect(get.contentType).toMatch(/^application\/json/);
    const err = await raw(ts, "GET", "/collections/does_not_exist_x");
    expect(err.contentType).toMatch(/^application\/json/);
    const imp = await importLines(ts, name, jsonl([{ t: "a" }]));
    expect(imp.contentType).toMatch(/^text\/plain/);
    const exp = await raw(ts, "GET", `/collections/${name}/documents/export`);
    expect(exp.contentType).toMatch(/^text\/plain/);
  });

  it("missing collection is 404 Collection not found (v29)", async () => {
    const r = await raw(ts, "GET", "/collections/does_not_exist_x");
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ message: "Collection not found" });
  });

  it("query strings: + is a space, %XX decoded, unknown params ignored, last repeat wins", async () => {
    const name = await makeCollection(ts, [
      { name: "t", type: "string" },
      { name: "n", type: "int32" },
    ]);
    await importLines(
      ts,
      name,
      jsonl([
        { id: "a", t: "hello world", n: 1 },
        { id: "b", t: "other", n: 2 },
      ]),
    );
    const r = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=hello+wor%6Cd&query_by=t&whatever=1&per_page=1&per_page=5`,
    );
    expect(r.status).toBe(200);
    expect(r.json.found).toBe(1);
    expect(r.json.request_params.per_page).toBe(5);
  });

  it("repeated filter_by values are ANDed", async () => {
    const name = await makeCollection(ts, [{ name: "n", type: "int32" }]);
    await importLines(ts, name, jsonl([1, 2, 3, 4].map((n) => ({ id: `d${n}`, n }))));
    const r = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=*&filter_by=n:>1&filter_by=n:<4`,
    );
    expect(r.json.found).toBe(2);
  });

  it("a GET search over 4000 chars is 400 with the multi_search hint", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const q = "x".repeat(4100);
    const r = await raw(ts, "GET", `/collections/${name}/documents/search?q=${q}&query_by=t`);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      message:
        "Query string exceeds max allowed length of 4000. Use the /multi_search end-point for larger payloads.",
    });
  });
});
