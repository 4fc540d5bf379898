import { describe, expect, it } from "vitest";
import { useTypesense } from "../support/typesense.js";

const ts = useTypesense();

describe("smoke", () => {
  it("creates, imports, searches and exports through the official client", async () => {
    const name = ts.uniqueName("books");
    const created = await ts.client.collections().create({
      name,
      fields: [
        { name: "title", type: "string" },
        { name: "author", type: "string", facet: true },
        { name: "year", type: "int32" },
      ],
      default_sorting_field: "year",
    });
    expect(created.name).toBe(name);
    const res = await ts.client
      .collections(name)
      .documents()
      .import(
        [
          { id: "1", title: "The Hobbit", author: "Tolkien", year: 1937 },
          { id: "2", title: "The Lord of the Rings", author: "Tolkien", year: 1954 },
          { id: "3", title: "Dune", author: "Herbert", year: 1965 },
        ],
        { action: "upsert" },
      );
    expect(res).toEqual([{ success: true }, { success: true }, { success: true }]);
    const r = await ts.client
      .collections(name)
      .documents()
      .search({ q: "hobit", query_by: "title", facet_by: "author" });
    expect(r.found).toBe(1);
    expect(r.hits?.[0]?.document.id).toBe("1");
    const all = await ts.client
      .collections(name)
      .documents()
      .search({ q: "*", facet_by: "author" });
    expect(all.hits?.map((h) => h.document.id)).toEqual(["3", "2", "1"]);
    expect(all.facet_counts?.[0]?.counts[0]).toEqual({
      count: 2,
      highlighted: "Tolkien",
      value: "Tolkien",
    });
    const exp = await ts.client.collections(name).documents().export();
    expect(exp.split("\n")).toHaveLength(3);
    const lotr = await ts.client
      .collections(name)
      .documents()
      .search({ q: "lord ring", query_by: "title" });
    expect(lotr.hits?.[0]?.highlight).toMatchObject({
      title: { snippet: "The <mark>Lord</mark> of the <mark>Ring</mark>s" },
    });
  });
});
