import { describe, expect, it } from "vitest";
import { tokenize, tokenizeSpans } from "../../src/emulator/text.js";
import { itEmulatorOnly, useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();

describe("tokenizer", () => {
  it("the fast path and the span tokenizer agree", () => {
    const samples = [
      "The Lord of the Rings",
      "e-mail don't  tabs\there\nnewline",
      "Café Crème BRÛLÉE",
      "x".repeat(150),
      "mixed123 ABC def-GHI (paren) [br] a.b.c",
      "  leading and trailing  ",
      "ümlaut naïve — dash… ellipsis",
    ];
    for (const s of samples) expect(tokenize(s)).toEqual(tokenizeSpans(s).map((t) => t.token));
    expect(tokenize("e-mail don't Café")).toEqual(["email", "dont", "cafe"]);
    expect(tokenize("x".repeat(150))[0]).toHaveLength(100);
  });

  it("token_separators and symbols_to_index", () => {
    const opts = {
      separators: new Set(["-".charCodeAt(0)]),
      symbols: new Set(["+".charCodeAt(0)]),
    };
    expect(tokenize("e-mail c++ x", opts)).toEqual(["e", "mail", "c++", "x"]);
    expect(tokenizeSpans("e-mail c++ x", opts).map((t) => t.token)).toEqual([
      "e",
      "mail",
      "c++",
      "x",
    ]);
  });
});

describe("index maintenance seen through search", () => {
  it("deleted docs are never returned; updated docs stop matching old tokens", async () => {
    const name = await makeCollection(ts, [
      { name: "t", type: "string" },
      { name: "n", type: "int32" },
    ]);
    const docs = Array.from({ length: 50 }, (_, i) => ({
      id: `d${i}`,
      t: `common word${i}`,
      n: i,
    }));
    await importLines(ts, name, jsonl(docs));
    await raw(ts, "DELETE", `/collections/${name}/documents?filter_by=n:<40`);
    const s = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=common&query_by=t&per_page=50`,
    );
    expect(s.json.found).toBe(10);
    await importLines(ts, name, jsonl([{ id: "d45", t: "replaced", n: 45 }]), "?action=upsert");
    const old = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=word45&query_by=t&num_typos=0`,
    );
    expect(old.json.found).toBe(0);
    const neu = await raw(ts, "GET", `/collections/${name}/documents/search?q=replaced&query_by=t`);
    expect(neu.json.hits.map((h: { document: { id: string } }) => h.document.id)).toEqual(["d45"]);
    const f = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=*&filter_by=t:common&per_page=50`,
    );
    expect(f.json.found).toBe(9);
    const sorted = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=*&sort_by=n:asc&per_page=3`,
    );
    expect(sorted.json.hits.map((h: { document: { n: number } }) => h.document.n)).toEqual([
      40, 41, 42,
    ]);
  });

  it("many deletions then re-creation keep results exact (compaction)", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const docs = Array.from({ length: 3000 }, (_, i) => ({ id: `d${i}`, t: `alpha beta${i % 7}` }));
    await importLines(ts, name, jsonl(docs));
    await raw(ts, "DELETE", `/collections/${name}/documents?filter_by=t:beta3`);
    await raw(
      ts,
      "DELETE",
      `/collections/${name}/documents?filter_by=t:[beta0,beta1,beta2,beta4,beta5]`,
    );
    await importLines(ts, name, jsonl([{ id: "d0", t: "alpha gamma" }]));
    const s = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/search?q=alpha&query_by=t&facet_by=`,
    );
    expect(s.json.found).toBe(Math.ceil((3000 - 6) / 7) + 1);
    const g = await raw(ts, "GET", `/collections/${name}/documents/search?q=gamma&query_by=t`);
    expect(g.json.found).toBe(1);
    // Export order is still first-insert order; d0 was re-created, so it comes last.
    const exp = (await raw(ts, "GET", `/collections/${name}/documents/export`)).text.split("\n");
    expect(JSON.parse(exp[0]!).id).toBe("d6");
    expect(JSON.parse(exp.at(-1)!).id).toBe("d0");
    const newest = await raw(ts, "GET", `/collections/${name}/documents/search?q=*&per_page=2`);
    expect(newest.json.hits.map((h: { document: { id: string } }) => h.document.id)).toEqual([
      "d0",
      "d2995",
    ]);
  });

  itEmulatorOnly("auto ids keep counting after deletions and truncation", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    await importLines(ts, name, jsonl(Array.from({ length: 1500 }, () => ({ t: "x" }))));
    await raw(ts, "DELETE", `/collections/${name}/documents?truncate=true`);
    const r = await importLines(ts, name, jsonl([{ t: "y" }]), "?return_id=true");
    expect(JSON.parse(r.text)).toEqual({ id: "1500", success: true });
  });
});
