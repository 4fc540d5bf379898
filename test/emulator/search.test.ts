import { beforeAll, describe, expect, it } from "vitest";
import { useTypesense } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

const ts = useTypesense();
let books: string;

const BOOKS = [
  {
    id: "1",
    title: "The Hobbit",
    author: "J. R. R. Tolkien",
    year: 1937,
    rating: 4.7,
    tags: ["fantasy", "classic"],
    in_print: true,
  },
  {
    id: "2",
    title: "The Lord of the Rings",
    author: "J. R. R. Tolkien",
    year: 1954,
    rating: 4.9,
    tags: ["fantasy", "epic"],
    in_print: true,
  },
  {
    id: "3",
    title: "Dune",
    author: "Frank Herbert",
    year: 1965,
    rating: 4.5,
    tags: ["scifi", "classic"],
    in_print: true,
  },
  {
    id: "4",
    title: "Neuromancer",
    author: "William Gibson",
    year: 1984,
    rating: 4.1,
    tags: ["scifi", "cyberpunk"],
    in_print: false,
  },
  {
    id: "5",
    title: "The Left Hand of Darkness",
    author: "Ursula K. Le Guin",
    year: 1969,
    rating: 4.3,
    tags: ["scifi"],
    in_print: true,
  },
  {
    id: "6",
    title: "A Wizard of Earthsea",
    author: "Ursula K. Le Guin",
    year: 1968,
    rating: 4.4,
    tags: ["fantasy", "classic"],
    in_print: false,
  },
];

beforeAll(async () => {
  books = await makeCollection(
    ts,
    [
      { name: "title", type: "string" },
      { name: "author", type: "string", facet: true },
      { name: "year", type: "int32", facet: true },
      { name: "rating", type: "float" },
      { name: "tags", type: "string[]", facet: true },
      { name: "in_print", type: "bool", facet: true },
      { name: "note", type: "string", optional: true, index: false },
    ],
    { default_sorting_field: "year" },
  );
  await importLines(ts, books, jsonl(BOOKS));
});

async function find(params: Record<string, string | number>) {
  const qs = new URLSearchParams(
    Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
  );
  return raw(ts, "GET", `/collections/${books}/documents/search?${qs}`);
}

async function ids(params: Record<string, string | number>): Promise<string[]> {
  const r = await find({ per_page: 50, ...params });
  if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
  return r.json.hits.map((h: { document: { id: string } }) => h.document.id);
}

describe("search basics (reference §6)", () => {
  it("response shape", async () => {
    const r = await find({ q: "hobbit", query_by: "title" });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      facet_counts: [],
      found: 1,
      out_of: 6,
      page: 1,
      request_params: { collection_name: books, first_q: "hobbit", per_page: 10, q: "hobbit" },
      search_cutoff: false,
    });
    expect(typeof r.json.search_time_ms).toBe("number");
    const hit = r.json.hits[0];
    expect(hit.document.id).toBe("1");
    expect(hit.highlight.title).toEqual({
      matched_tokens: ["Hobbit"],
      snippet: "The <mark>Hobbit</mark>",
    });
    expect(hit.highlights).toEqual([
      { field: "title", matched_tokens: ["Hobbit"], snippet: "The <mark>Hobbit</mark>" },
    ]);
    expect(typeof hit.text_match).toBe("number");
    expect(hit.text_match_info).toMatchObject({
      fields_matched: 1,
      num_tokens_dropped: 0,
      tokens_matched: 1,
      typo_prefix_score: 0,
    });
    expect(typeof hit.text_match_info.score).toBe("string");
    expect(typeof hit.text_match_info.best_field_score).toBe("string");
  });

  it("highlight_start_tag / highlight_end_tag replace <mark>", async () => {
    const r = await find({
      q: "hobbit",
      query_by: "title",
      highlight_start_tag: "<em>",
      highlight_end_tag: "</em>",
    });
    expect(r.json.hits[0].highlight.title.snippet).toBe("The <em>Hobbit</em>");
  });

  it("q=* sorts by default_sorting_field desc with empty highlights and no text_match", async () => {
    const r = await find({ q: "*" });
    expect(r.json.hits.map((h: { document: { year: number } }) => h.document.year)).toEqual([
      1984, 1969, 1968, 1965, 1954, 1937,
    ]);
    expect(r.json.hits[0].highlights).toEqual([]);
    expect(r.json.hits[0].highlight).toEqual({});
    expect(r.json.hits[0]).not.toHaveProperty("text_match");
  });

  it("q=* without default sorting field is newest first", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    await importLines(
      ts,
      name,
      jsonl([
        { id: "a", t: "x" },
        { id: "b", t: "y" },
        { id: "c", t: "z" },
      ]),
    );
    const r = await raw(ts, "GET", `/collections/${name}/documents/search?q=*`);
    expect(r.json.hits.map((h: { document: { id: string } }) => h.document.id)).toEqual([
      "c",
      "b",
      "a",
    ]);
  });

  it("prefix search on the last token, and prefix=false", async () => {
    expect(await ids({ q: "neuro", query_by: "title" })).toEqual(["4"]);
    expect(await ids({ q: "neuro", query_by: "title", prefix: "false" })).toEqual([]);
  });

  it("typo tolerance up to num_typos", async () => {
    expect(await ids({ q: "neuromancr", query_by: "title" })).toEqual(["4"]);
    expect(
      await ids({ q: "nueromancer", query_by: "title", num_typos: 0, prefix: "false" }),
    ).toEqual([]);
    // 4-6 chars allow 1 typo (a transposition counts as one); under 4 chars none.
    expect(await ids({ q: "dnue", query_by: "title", prefix: "false" })).toEqual(["3"]);
    expect(await ids({ q: "dume", query_by: "title", prefix: "false", num_typos: 0 })).toEqual([]);
    expect(await ids({ q: "dun", query_by: "title", prefix: "false" })).toEqual([]);
  });

  it("all tokens must match; tokens are dropped from the right when nothing matches", async () => {
    expect(await ids({ q: "lord rings", query_by: "title" })).toEqual(["2"]);
    const r = await find({ q: "dune zzzzzz", query_by: "title" });
    expect(r.json.found).toBe(1);
    expect(r.json.hits[0].text_match_info.num_tokens_dropped).toBe(1);
  });

  it("query_by over several fields including string[]; earlier fields rank higher", async () => {
    expect(await ids({ q: "cyberpunk", query_by: "title,tags" })).toEqual(["4"]);
    const r = await find({ q: "classic", query_by: "title,tags" });
    expect(r.json.found).toBe(3);
    const dune = r.json.hits.find((h: { document: { id: string } }) => h.document.id === "3");
    expect(dune.highlight.tags).toEqual([
      { matched_tokens: [], snippet: "scifi" },
      { matched_tokens: ["classic"], snippet: "<mark>classic</mark>" },
    ]);
    expect(dune.highlights).toEqual([
      {
        field: "tags",
        indices: [1],
        matched_tokens: [["classic"]],
        snippets: ["<mark>classic</mark>"],
      },
    ]);
    const title = await find({ q: "the hobbit", query_by: "tags,title" });
    expect(title.json.hits[0].text_match_info.best_field_weight).toBeLessThan(15);
  });

  it("query_by errors", async () => {
    const missing = await find({ q: "x" });
    expect(missing.status).toBe(400);
    expect(missing.json.message).toBe("No search fields specified for the query.");
    const noQ = await find({ query_by: "title" });
    expect(noQ.json.message).toBe("Parameter `q` is required.");
    const unknown = await find({ q: "x", query_by: "nope" });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toBe("Could not find a field named `nope` in the schema.");
    const numeric = await find({ q: "x", query_by: "year" });
    expect(numeric.status).toBe(400);
    expect(numeric.json.message).toBe("Field `year` should be a string or a string array.");
  });

  it("unknown collection on search", async () => {
    const r = await raw(ts, "GET", "/collections/nope_nope/documents/search?q=*");
    expect(r.status).toBe(404);
    expect(r.json.message).toBe("Collection not found");
  });
});

describe("filter_by (reference §6)", () => {
  const cases: [string, string[]][] = [
    ["author:Tolkien", ["2", "1"]],
    ["author:=J. R. R. Tolkien", ["2", "1"]],
    ["author:=Tolkien", []],
    ["author:!=J. R. R. Tolkien", ["4", "5", "6", "3"]],
    ["tags:[epic,cyberpunk]", ["4", "2"]],
    ["tags:![fantasy]", ["4", "5", "3"]],
    ["year:>1965", ["4", "5", "6"]],
    ["year:>=1965", ["4", "5", "6", "3"]],
    ["year:<1954", ["1"]],
    ["year:<=1954", ["2", "1"]],
    ["year:[1950..1966]", ["3", "2"]],
    ["year:[1937, 1984]", ["4", "1"]],
    ["year:1954", ["2"]],
    ["year:!=1954", ["4", "5", "6", "3", "1"]],
    ["rating:>4.45", ["3", "2", "1"]],
    ["in_print:false", ["4", "6"]],
    ["in_print:=true && year:<1960", ["2", "1"]],
    ["year:<1940 || year:>1980", ["4", "1"]],
    ["(tags:scifi || tags:epic) && in_print:true", ["5", "3", "2"]],
    ["tags:fantasy && (year:<1940 || author:Guin)", ["6", "1"]],
    ["author:=`Ursula K. Le Guin`", ["5", "6"]],
    ["author:[`J. R. R. Tolkien`, `Frank Herbert`]", ["3", "2", "1"]],
    ["id:[1,3]", ["3", "1"]],
    ["id:!=1", ["4", "5", "6", "3", "2"]],
    ["title:the", ["5", "2", "1"]],
  ];
  for (const [filter, expected] of cases) {
    it(filter, async () => {
      expect(await ids({ q: "*", filter_by: filter })).toEqual(expected);
    });
  }

  it("errors: unparsable, unknown field, non-indexed field", async () => {
    const bad = await find({ q: "*", filter_by: "year:>" });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe("Could not parse the filter query.");
    const paren = await find({ q: "*", filter_by: "(year:>1" });
    expect(paren.json.message).toBe("Could not parse the filter query.");
    const unknown = await find({ q: "*", filter_by: "nope:1" });
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toBe("Could not find a filter field named `nope` in the schema.");
    const noindex = await find({ q: "*", filter_by: "note:x" });
    expect(noindex.status).toBe(404);
  });

  it("backtick-quoted ids may contain commas, brackets, spaces, colons and operators", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const weird = ["a,b", "c]d", "e f", "g:h", "i&&j", "k||l", "(m)", "n[o]"];
    await importLines(
      ts,
      name,
      jsonl([...weird.map((id) => ({ id, t: "x" })), { id: "plain", t: "x" }]),
    );
    const filter = `id:[${weird.map((id) => `\`${id}\``).join(",")}]`;
    const exp = await raw(
      ts,
      "GET",
      `/collections/${name}/documents/export?filter_by=${encodeURIComponent(filter)}`,
    );
    expect(exp.text.split("\n").map((l) => JSON.parse(l).id)).toEqual(weird);
    const del = await raw(
      ts,
      "DELETE",
      `/collections/${name}/documents?filter_by=${encodeURIComponent(filter)}`,
    );
    expect(del.json).toEqual({ num_deleted: weird.length });
    expect((await raw(ts, "GET", `/collections/${name}`)).json.num_documents).toBe(1);
  });

  it("filter combined with a text query", async () => {
    expect(await ids({ q: "the", query_by: "title", filter_by: "year:<1960" })).toEqual(["2", "1"]);
  });
});

describe("sort_by, facets, pagination, projection (reference §6)", () => {
  it("sort_by up to 3 fields incl. _text_match", async () => {
    expect(await ids({ q: "*", sort_by: "rating:asc" })).toEqual(["4", "5", "6", "3", "1", "2"]);
    expect(await ids({ q: "*", sort_by: "in_print:desc,year:asc" })).toEqual([
      "1",
      "2",
      "3",
      "5",
      "6",
      "4",
    ]);
    expect(
      await ids({ q: "the", query_by: "title", sort_by: "_text_match:desc,year:asc" }),
    ).toEqual(["1", "2", "5"]);
    const four = await find({
      q: "*",
      sort_by: "year:asc,rating:asc,in_print:asc,_text_match:desc",
    });
    expect(four.status).toBe(400);
    const bad = await find({ q: "*", sort_by: "author:asc" });
    expect(bad.status).toBe(404);
    expect(bad.json.message).toBe(
      "Could not find a field named `author` in the schema for sorting.",
    );
  });

  it("facet_by counts and stats", async () => {
    const r = await find({ q: "*", facet_by: "tags,year", max_facet_values: 2 });
    const [tags, year] = r.json.facet_counts;
    expect(tags.field_name).toBe("tags");
    expect(tags.sampled).toBe(false);
    // Two values tie at 3; their order is not specified.
    expect(tags.counts).toHaveLength(2);
    expect(tags.counts).toEqual(
      expect.arrayContaining([
        { count: 3, highlighted: "classic", value: "classic" },
        { count: 3, highlighted: "fantasy", value: "fantasy" },
      ]),
    );
    expect(tags.stats).toEqual({ total_values: 5 });
    expect(year.stats).toMatchObject({ min: 1937, max: 1984, total_values: 6 });
    const filtered = await find({ q: "*", facet_by: "in_print", filter_by: "tags:scifi" });
    expect(filtered.json.facet_counts[0].counts).toEqual([
      { count: 2, highlighted: "true", value: "true" },
      { count: 1, highlighted: "false", value: "false" },
    ]);
    const notFacet = await find({ q: "*", facet_by: "title" });
    expect(notFacet.status).toBe(404);
    expect(notFacet.json.message).toBe("Could not find a facet field named `title` in the schema.");
  });

  it("page/per_page and limit/offset", async () => {
    expect(await ids({ q: "*", per_page: 2, page: 2 })).toEqual(["6", "3"]);
    expect(await ids({ q: "*", per_page: 2, page: 0 })).toEqual(["4", "5"]);
    expect(await ids({ q: "*", limit: 2, offset: 3 })).toEqual(["3", "2"]);
    const over = await find({ q: "*", per_page: 251 });
    expect(over.status).toBe(422);
    expect(over.json.message).toBe("Only upto 250 hits can be fetched per page.");
    const notInt = await find({ q: "*", page: "x" });
    expect(notInt.status).toBe(400);
    expect(notInt.json.message).toBe("Parameter `page` must be an unsigned integer.");
  });

  it("include_fields / exclude_fields", async () => {
    const r = await find({ q: "dune", query_by: "title", include_fields: "title,year" });
    expect(r.json.hits[0].document).toEqual({ title: "Dune", year: 1965 });
    const e = await find({
      q: "dune",
      query_by: "title",
      exclude_fields: "tags,rating,in_print,author",
    });
    expect(e.json.hits[0].document).toEqual({ id: "3", title: "Dune", year: 1965 });
  });

  it("long values are snippeted around the match", async () => {
    const name = await makeCollection(ts, [{ name: "body", type: "string" }]);
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
    words[40] = "needle";
    await importLines(ts, name, jsonl([{ body: words.join(" ") }]));
    const r = await raw(ts, "GET", `/collections/${name}/documents/search?q=needle&query_by=body`);
    expect(r.json.hits[0].highlight.body.snippet).toBe(
      "w36 w37 w38 w39 <mark>needle</mark> w41 w42 w43 w44",
    );
  });
});

describe("multi_search (reference §6)", () => {
  it("runs searches in order with per-search errors and common URL params", async () => {
    const res = await ts.client.multiSearch.perform(
      {
        searches: [
          { collection: books, q: "dune", query_by: "title" },
          { collection: "nope_nope", q: "*" },
          { collection: books, q: "*", filter_by: "year:>1960" },
        ],
      },
      { filter_by: "in_print:true", per_page: 1 },
    );
    const [a, b, c] = res.results as Record<string, unknown>[];
    expect((a as { found: number }).found).toBe(1);
    expect(b).toEqual({ code: 404, error: "Collection not found" });
    expect((c as { found: number }).found).toBe(2);
    expect((c as { hits: unknown[] }).hits).toHaveLength(1);
  });

  it("errors: missing searches, too many", async () => {
    const r = await raw(ts, "POST", "/multi_search", {});
    expect(r.status).toBe(400);
    expect(r.json.message).toBe("Missing `searches` array.");
    const many = await raw(ts, "POST", "/multi_search", {
      searches: Array.from({ length: 51 }, () => ({ collection: books, q: "*" })),
    });
    expect(many.status).toBe(400);
    expect(many.json.message).toBe(
      "Number of multi searches exceeds `limit_multi_searches` parameter.",
    );
  });
});
