import { describe, expect, it } from "vitest";
import { andFilters, checkFilterPart } from "../../src/gateway/filter.js";
import { applyScope, type ForcedParams } from "../../src/gateway/scope.js";

const forced = (over: Partial<ForcedParams> = {}): ForcedParams => ({
  filters: ["tenant_id:=1"],
  includeFields: null,
  excludeFields: new Set(),
  perPageMax: null,
  limitHits: null,
  overrides: {},
  ...over,
});

describe("the filter merge is safe by construction", () => {
  it("wraps every part in parentheses and AND-s them", () => {
    expect(andFilters(["tenant_id:=1", "a:=1 || b:=2"])).toBe("(tenant_id:=1) && (a:=1 || b:=2)");
    expect(andFilters(["tenant_id:=1", undefined, "  "])).toBe("(tenant_id:=1)");
  });

  it("accepts one balanced expression, backtick-quoted parentheses included", () => {
    for (const f of ["a:=1", "(a:=1 || b:=2) && c:>3", "title:`)` || x:=1", "t:`a) || (b`"]) {
      expect(checkFilterPart(f), f).toEqual({ ok: true });
    }
  });

  it("refuses a part that could close the parenthesis it is put in, or open a join", () => {
    for (const f of [
      ") || (tenant_id:=2",
      "a:=1) || (b:=2",
      "((a:=1)",
      "`",
      "t:`x\\`)",
      "$o(a:=1)",
    ]) {
      expect(checkFilterPart(f).ok, f).toBe(false);
    }
    expect(() => applyScope({ filter_by: "a:=1) || (tenant_id:=2" }, forced())).toThrow(
      /Could not parse the filter query/,
    );
  });

  it("checks each of several caller parts (a repeated filter_by)", () => {
    const out = applyScope({ filter_by: ["a:=1", "b:=2"] }, forced());
    expect(out.filter_by).toBe("(tenant_id:=1) && (a:=1) && (b:=2)");
    expect(() => applyScope({ filter_by: ["a:=1", ") || (x:=1"] }, forced())).toThrow();
  });
});

describe("forced fields and limits are never loosened", () => {
  it("include_fields: the caller's within the allowed ones, never an empty list", () => {
    const f = forced({ includeFields: new Set(["title", "price"]) });
    expect(applyScope({ include_fields: "title,secret" }, f).include_fields).toBe("title");
    expect(applyScope({ include_fields: "secret" }, f).include_fields).toBe("title,price");
    expect(applyScope({}, f).include_fields).toBe("title,price");
    expect(() => applyScope({ include_fields: "$other(*)" }, forced())).toThrow(/joins/);
    expect(() => applyScope({ sort_by: "$other(rank:asc)" }, forced())).toThrow(/joins/);
  });

  it("exclude_fields: the forced ones are always excluded", () => {
    const f = forced({ excludeFields: new Set(["secret"]) });
    expect(applyScope({ exclude_fields: "body" }, f).exclude_fields).toBe("body,secret");
    expect(applyScope({}, f).exclude_fields).toBe("secret");
  });

  it("a hidden field cannot be searched, faceted, grouped or highlighted (its content would show)", () => {
    const f = forced({ excludeFields: new Set(["secret"]) });
    expect(applyScope({ query_by: "title,body" }, f).query_by).toBe("title,body");
    for (const [k, v] of [
      ["query_by", "title,secret"],
      ["facet_by", "secret(sort_by: _alpha:asc)"],
      ["group_by", "secret"],
      ["highlight_full_fields", "secret"],
      ["query_by", "*"],
    ]) {
      expect(() => applyScope({ [k!]: v }, f), `${k}=${v}`).toThrow(/not visible/);
    }
    const only = forced({ includeFields: new Set(["title"]) });
    expect(() => applyScope({ facet_by: "category" }, only)).toThrow(/not visible/);
    expect(applyScope({ query_by: "title" }, only).query_by).toBe("title");
  });

  it("per_page, limit and limit_hits are capped; Typesense's default 10 counts", () => {
    const f = forced({ perPageMax: 5, limitHits: 20 });
    expect(applyScope({ per_page: "250", limit: 100, limit_hits: "1000" }, f)).toMatchObject({
      per_page: 5,
      limit: 5,
      limit_hits: 20,
    });
    expect(applyScope({}, f).per_page).toBe(5);
    expect(() => applyScope({ per_page: "-1" }, f)).toThrow(/unsigned integer/);
  });

  it("drops pinned_hits, preset and the key; filters curated hits when a filter is forced", () => {
    const out = applyScope(
      { pinned_hits: "3:1", preset: "p", "x-typesense-api-key": "k", filter_curated_hits: false },
      forced(),
    );
    expect(out).not.toHaveProperty("pinned_hits");
    expect(out).not.toHaveProperty("preset");
    expect(out).not.toHaveProperty("x-typesense-api-key");
    expect(out.filter_curated_hits).toBe(true);
  });

  it("embedded overrides replace the caller's value but never the scope's own keys", () => {
    const f = forced({ overrides: { sort_by: "price:asc", filter_by: "tenant_id:=2" } });
    const out = applyScope({ sort_by: "price:desc" }, f);
    expect(out.sort_by).toBe("price:asc");
    expect(out.filter_by).toBe("(tenant_id:=1)");
  });
});
