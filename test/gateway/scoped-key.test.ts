import { Client } from "typesense";
import { describe, expect, it } from "vitest";
import type { SearchKeyCredentialRow } from "../../src/control/search-keys.js";
import { combineScope } from "../../src/gateway/keys.js";
import { parseScopedKey, signedBy } from "../../src/gateway/scoped-key.js";

// the official client mints scoped keys locally (no server call): its own code is the spec
const client = new Client({
  nodes: [{ host: "127.0.0.1", port: 1, protocol: "http" }],
  apiKey: "unused",
  logLevel: "error",
});
const PARENT = "0123456789ab".padEnd(64, "c");
const OTHER_SAME_PREFIX = "0123ffffffff".padEnd(64, "d");

describe("scoped keys minted by typesense-js generateScopedSearchKey", () => {
  it("parse into digest, parent prefix and the embedded params, and verify against the parent", () => {
    const scoped = client.keys().generateScopedSearchKey(PARENT, {
      filter_by: "tenant_id:=42",
      expires_at: 1_900_000_000,
      include_fields: ["title", "price"] as never,
    });
    const parts = parseScopedKey(scoped);
    expect(parts?.prefix).toBe("0123");
    expect(parts?.params).toEqual({
      filter_by: "tenant_id:=42",
      expires_at: 1_900_000_000,
      include_fields: "title,price",
    });
    expect(signedBy(parts!, PARENT)).toBe(true);
  });

  it("are refused for another parent with the same 4-character prefix", () => {
    const parts = parseScopedKey(
      client.keys().generateScopedSearchKey(PARENT, { filter_by: "tenant_id:=42" }),
    );
    expect(signedBy(parts!, OTHER_SAME_PREFIX)).toBe(false);
  });

  it("are refused when the embedded params were changed after signing", () => {
    const scoped = client.keys().generateScopedSearchKey(PARENT, { filter_by: "tenant_id:=42" });
    const raw = Buffer.from(scoped, "base64").toString("utf8").replace(":=42", ":=43");
    const forged = parseScopedKey(Buffer.from(raw).toString("base64"));
    expect(forged?.params.filter_by).toBe("tenant_id:=43");
    expect(signedBy(forged!, PARENT)).toBe(false);
  });

  it("other strings are not scoped keys", () => {
    for (const s of [
      "",
      PARENT,
      "bm90IGEga2V5",
      "x".repeat(70),
      Buffer.from(`${"a".repeat(48)}[]`).toString("base64"),
    ]) {
      expect(parseScopedKey(s)).toBeNull();
    }
  });
});

const row = (over: Partial<SearchKeyCredentialRow> = {}): SearchKeyCredentialRow => ({
  id: "00000000-0000-4000-8000-000000000001",
  public_id: "0123456789ab",
  name: "k",
  description: null,
  job_ids: [],
  filter_by: "tenant_id:=1",
  include_fields: "id,title,price",
  exclude_fields: "secret",
  per_page_max: 20,
  limit_hits: 100,
  rate_per_second: null,
  rate_burst: null,
  is_active: true,
  expires_at: new Date(2_000_000_000_000),
  last_used_at: null,
  created_at: new Date(),
  updated_at: new Date(),
  token_sealed: "plain:x",
  ...over,
});

describe("embedded params are enforced on top of the parent's", () => {
  it("filters AND-ed, include lists intersected, exclude lists joined, caps and expiry the stricter", () => {
    const s = combineScope(row(), {
      filter_by: "category:=toys",
      include_fields: "title,body",
      exclude_fields: "price",
      per_page: 50,
      limit_hits: 10,
      expires_at: 1_900_000_000,
    })!;
    expect(s.forced.filters).toEqual(["tenant_id:=1", "category:=toys"]);
    expect([...s.forced.includeFields!]).toEqual(["title"]);
    expect([...s.forced.excludeFields].sort()).toEqual(["price", "secret"]);
    expect(s.forced.perPageMax).toBe(20);
    expect(s.forced.limitHits).toBe(10);
    expect(s.expiresAtMs).toBe(1_900_000_000_000);
  });

  it("an embedded expiry later than the parent's does not extend it", () => {
    expect(combineScope(row(), { expires_at: 2_100_000_000 })!.expiresAtMs).toBe(2_000_000_000_000);
  });

  it("a scoped key whose embedded filter is not one balanced expression is refused as a whole", () => {
    expect(combineScope(row(), { filter_by: "x:=1) || (tenant_id:=2" })).toBeNull();
    expect(combineScope(row(), { per_page: "ten" })).toBeNull();
  });
});
