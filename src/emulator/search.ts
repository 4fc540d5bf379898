import { type Collection, readField } from "./collection.js";
import { ApiError } from "./errors.js";
import { facetCounts, parseFacetBy } from "./facets.js";
import { evalNode, parseFilter } from "./filter.js";
import { type HighlightOptions, highlightValue } from "./highlight.js";
import { type MatchResult, matchQuery } from "./match.js";
import { isStringType } from "./schema.js";
import { tokenize } from "./text.js";

/** Search parameters as strings (query string or stringified multi_search body values). */
export type SearchParams = Record<string, string>;

const MAX_PER_PAGE = 250;

function uintParam(params: SearchParams, name: string, def: number): number {
  const raw = params[name];
  if (raw === undefined || raw === "") return def;
  // num_typos may be given per field ("2,1"); the first value applies to all fields here.
  const v = name === "num_typos" ? raw.split(",")[0]!.trim() : raw.trim();
  if (!/^\d+$/.test(v))
    throw new ApiError(400, `Parameter \`${name}\` must be an unsigned integer.`);
  return Number.parseInt(v, 10);
}

function boolParam(params: SearchParams, name: string, def: boolean): boolean {
  const raw = params[name];
  if (raw === undefined) return def;
  // prefix may be per field ("true,false"); the last field's value governs the last token.
  const parts = raw.split(",");
  return parts[0]!.trim().toLowerCase() !== "false";
}

function list(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

interface SortKey {
  kind: "text" | "seq" | "field";
  field: string;
  desc: boolean;
}

function parseSortBy(raw: string | undefined, coll: Collection, wildcard: boolean): SortKey[] {
  const dsf = coll.schema.default_sorting_field;
  const items = list(raw);
  if (items.length === 0) {
    const keys: SortKey[] = [];
    if (!wildcard) keys.push({ kind: "text", field: "", desc: true });
    if (dsf !== "") keys.push({ kind: "field", field: dsf, desc: true });
    return keys;
  }
  if (items.length > 3) throw new ApiError(400, "Only upto 3 sort_by fields can be specified.");
  return items.map((item) => {
    const colon = item.lastIndexOf(":");
    let name = (colon < 0 ? item : item.slice(0, colon)).trim();
    const dir =
      colon < 0
        ? "desc"
        : item
            .slice(colon + 1)
            .trim()
            .toLowerCase();
    if (dir !== "asc" && dir !== "desc") {
      throw new ApiError(400, `Order for field\` ${name}\` should be either ASC or DESC.`);
    }
    const paren = name.indexOf("(");
    if (paren > 0) name = name.slice(0, paren).trim();
    if (name === "_text_match") return { kind: "text", field: "", desc: dir === "desc" };
    if (name === "_seq_id") return { kind: "seq", field: "", desc: dir === "desc" };
    const f = coll.field(name);
    if (!f?.sort) {
      throw new ApiError(
        404,
        `Could not find a field named \`${name}\` in the schema for sorting.`,
      );
    }
    return { kind: "field", field: name, desc: dir === "desc" };
  });
}

function project(
  doc: Record<string, unknown>,
  include: string[],
  exclude: string[],
): Record<string, unknown> {
  if (include.length === 0 && exclude.length === 0) return doc;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (include.length > 0 && !include.includes(k)) continue;
    if (exclude.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Applies include_fields / exclude_fields (comma-separated) to one document. */
export function projectDocument(
  doc: Record<string, unknown>,
  params: { include_fields?: string; exclude_fields?: string },
): Record<string, unknown> {
  return project(doc, list(params.include_fields), list(params.exclude_fields));
}

/** Runs one search. Throws ApiError with Typesense's status and text. */
export function search(coll: Collection, params: SearchParams): Record<string, unknown> {
  const started = performance.now();
  const q = params.q;
  if (q === undefined) throw new ApiError(400, "Parameter `q` is required.");
  const wildcardQ = q.trim() === "*";
  const queryBy = list(params.query_by);
  if (!wildcardQ && queryBy.length === 0) {
    throw new ApiError(400, "No search fields specified for the query.");
  }
  for (const name of queryBy) {
    const f = coll.field(name);
    if (!f?.index) {
      throw new ApiError(404, `Could not find a field named \`${name}\` in the schema.`);
    }
    if (!isStringType(f.type)) {
      throw new ApiError(400, `Field \`${name}\` should be a string or a string array.`);
    }
  }
  let page = uintParam(params, "page", 1);
  let perPage = uintParam(params, "per_page", 10);
  if (params.limit !== undefined) perPage = uintParam(params, "limit", perPage);
  const offsetGiven = params.offset !== undefined;
  const offset = uintParam(params, "offset", 0);
  const numTypos = uintParam(params, "num_typos", 2);
  const maxFacetValues = uintParam(params, "max_facet_values", 10);
  const snippetThreshold = uintParam(params, "snippet_threshold", 30);
  const affixTokens = uintParam(params, "highlight_affix_num_tokens", 4);
  if (perPage > MAX_PER_PAGE)
    throw new ApiError(422, "Only upto 250 hits can be fetched per page.");
  if (page === 0) page = 1;
  const prefix = boolParam(params, "prefix", true);
  const sortKeys = parseSortBy(params.sort_by, coll, wildcardQ);
  const facetFields = parseFacetBy(params.facet_by, coll);
  const allowed =
    params.filter_by !== undefined && params.filter_by.trim() !== ""
      ? evalNode(parseFilter(params.filter_by, coll), coll)
      : undefined;

  const tokens = wildcardQ ? [] : tokenize(q, coll.tokenizer);
  const wildcard = wildcardQ || tokens.length === 0;
  let match: MatchResult | undefined;
  let seqs: number[];
  if (wildcard) {
    seqs = [];
    for (const d of coll.docs.values()) {
      if (allowed === undefined || allowed[d.seq] === 1) seqs.push(d.seq);
    }
  } else {
    match = matchQuery(coll, { tokens, fields: queryBy, prefix, numTypos, allowed });
    seqs = match.seqs;
  }

  const start = offsetGiven ? offset : (page - 1) * perPage;
  const top = topK(coll, seqs, sortKeys, match, start + perPage);
  // limit_hits: no hit at a position >= limit_hits is ever returned (deep paging stops there)
  const limitHits = params.limit_hits ? Number.parseInt(params.limit_hits, 10) : Infinity;
  const pageSeqs = top.slice(start, Math.min(start + perPage, Math.max(limitHits, 0)));
  const include = list(params.include_fields);
  const exclude = list(params.exclude_fields);
  const fullFields = new Set(list(params.highlight_full_fields));
  const hl: HighlightOptions = {
    tokenizer: coll.tokenizer,
    snippetThreshold,
    affixTokens,
    startTag: params.highlight_start_tag ?? "<mark>",
    endTag: params.highlight_end_tag ?? "</mark>",
    full: false,
  };
  const hits = pageSeqs.map((seq) => {
    const d = coll.bySeq[seq]!;
    const document = project(d.doc, include, exclude);
    if (!match) return { document, highlight: {}, highlights: [] };
    const highlight: Record<string, unknown> = {};
    const highlights: Record<string, unknown>[] = [];
    queryBy.forEach((field, fi) => {
      const words = match.words[fi]!;
      if (words.size === 0) return;
      const v = readField(d.doc, field, coll.schema.enable_nested_fields);
      const opts = { ...hl, full: fullFields.has(field) };
      if (typeof v === "string") {
        const h = highlightValue(v, words, opts);
        if (!h) return;
        highlight[field] = h;
        highlights.push({ field, ...h });
      } else if (Array.isArray(v)) {
        const per = v.map((e) =>
          typeof e === "string" ? highlightValue(e, words, opts) : undefined,
        );
        if (per.every((h) => h === undefined)) return;
        highlight[field] = per.map(
          (h, i) => h ?? { matched_tokens: [], snippet: typeof v[i] === "string" ? v[i] : "" },
        );
        const indices = per.flatMap((h, i) => (h ? [i] : []));
        highlights.push({
          field,
          indices,
          matched_tokens: indices.map((i) => per[i]!.matched_tokens),
          snippets: indices.map((i) => per[i]!.snippet),
        });
      }
    });
    const score = match.score[seq]!;
    return {
      document,
      highlight,
      highlights,
      text_match: score,
      text_match_info: {
        best_field_score: String(Math.floor(score / 1e6)),
        best_field_weight: Math.max(0, 15 - match.bestField[seq]!),
        fields_matched: match.fieldsMatched[seq]!,
        num_tokens_dropped: match.numTokensDropped,
        score: String(score),
        tokens_matched: match.tokensMatched[seq]!,
        typo_prefix_score: match.typos[seq]!,
      },
    };
  });
  return {
    facet_counts: facetCounts(coll, facetFields, seqs, maxFacetValues, params.facet_query),
    found: seqs.length,
    hits,
    out_of: coll.docs.size,
    page: offsetGiven ? Math.floor(offset / Math.max(perPage, 1)) + 1 : page,
    request_params: { collection_name: coll.name, first_q: q, per_page: perPage, q },
    search_cutoff: false,
    search_time_ms: Math.round(performance.now() - started),
  };
}

/**
 * The first `k` seqs in result order. Keeps a sorted buffer of the best k and only inserts a
 * candidate that beats the current worst, so large result sets cost one comparison each.
 */
function topK(
  coll: Collection,
  seqs: number[],
  keys: SortKey[],
  match: MatchResult | undefined,
  k: number,
): number[] {
  const nested = coll.schema.enable_nested_fields;
  // One getter per key; numeric/bool fields read their column (NaN = missing).
  const getters = keys.map((key): ((seq: number) => number | string | undefined) => {
    if (key.kind === "text") return match ? (seq) => match.score[seq]! : () => 0;
    if (key.kind === "seq") return (seq) => seq;
    const col = coll.columns.get(key.field);
    if (col) {
      const raw = col.raw;
      return (seq) => {
        const v = raw[seq]!;
        return Number.isNaN(v) ? undefined : v;
      };
    }
    return (seq) => {
      const v = readField(coll.bySeq[seq]!.doc, key.field, nested);
      if (typeof v === "boolean") return v ? 1 : 0;
      if (typeof v === "bigint") return Number(v);
      return typeof v === "number" || typeof v === "string" ? v : undefined;
    };
  });
  // Returns < 0 when a ranks before b. Missing values rank last; ties go to the newer doc.
  const cmp = (a: number, b: number): number => {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const get = getters[i]!;
      const va = get(a);
      const vb = get(b);
      if (va === vb) continue;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      const c = va < vb ? -1 : 1;
      return key.desc ? -c : c;
    }
    return b - a;
  };
  if (k <= 0) return [];
  const best: number[] = [];
  for (const seq of seqs) {
    if (best.length === k && cmp(seq, best[k - 1]!) >= 0) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(best[mid]!, seq) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, seq);
    if (best.length > k) best.pop();
  }
  return best;
}
