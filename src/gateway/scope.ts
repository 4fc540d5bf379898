import { badRequest } from "./errors.js";
import { andFilters, checkFilterPart } from "./filter.js";

/**
 * What a search key (and the scoped key minted from it, if any) forces on
 * every search, already combined: the parent's limits and the embedded ones,
 * the stricter of each (keys.ts builds it).
 */
export interface ForcedParams {
  /** Each AND-ed with the caller's filter_by; each a balanced expression (filter.ts). */
  filters: string[];
  /** The only fields a document may show (the intersection of every forced list); null = any. */
  includeFields: ReadonlySet<string> | null;
  /** Fields never shown (the union of every forced list). */
  excludeFields: ReadonlySet<string>;
  /** per_page (and limit) never above this. */
  perPageMax: number | null;
  limitHits: number | null;
  /** Other embedded parameters of a scoped key: they replace the caller's (Typesense's rule). */
  overrides: Readonly<Record<string, string | number | boolean>>;
}

/** Parameters the gateway handles itself: never overridden by embedded params as plain values. */
export const SCOPE_KEYS = new Set([
  "filter_by",
  "include_fields",
  "exclude_fields",
  "per_page",
  "limit",
  "limit_hits",
  "expires_at",
  "limit_multi_searches",
  "collection",
  "searches",
  "union",
  "x-typesense-api-key",
]);

/**
 * Caller parameters dropped before forwarding:
 * - `pinned_hits` puts documents into the hits by id, and Typesense does not filter curated
 *   hits unless `filter_curated_hits` is set: another tenant's document by its id;
 * - `preset` pulls stored parameters the gateway cannot see;
 * - the key itself (the backend gets its own key in the header).
 */
const DROPPED = ["pinned_hits", "preset", "x-typesense-api-key"];

type Params = Record<string, unknown>;

/** Parameters that may reference a joined collection (`$other(...)`); filter/fields: below. */
const JOINABLE = ["sort_by", "facet_by", "query_by"];

function refuseJoin(p: Params, k: string): void {
  const v = p[k];
  if (typeof v === "string" && v.includes("$")) {
    throw badRequest(`Parameter \`${k}\`: joins ($collection) are not allowed with this key.`);
  }
}

function text(p: Params, k: string): string | undefined {
  const v = p[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw badRequest(`Parameter \`${k}\` must be a string.`);
}

function uint(p: Params, k: string): number | undefined {
  const v = text(p, k);
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw badRequest(`Parameter \`${k}\` must be an unsigned integer.`);
  return Number(v);
}

function fieldList(p: Params, k: string): string[] | undefined {
  const v = text(p, k);
  if (v === undefined) return undefined;
  const list = v
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
  // `$other(...)` includes fields of a joined collection the key may not read
  if (list.some((x) => x.includes("$"))) {
    throw badRequest(`Parameter \`${k}\`: joins ($collection) are not allowed with this key.`);
  }
  return list;
}

/**
 * The caller's filter_by combined with the forced ones (400 when a part is not
 * one expression). Several caller parts (a repeated URL param, a multi_search
 * URL param beside the body's) are AND-ed, each checked on its own.
 */
function mergedFilter(p: Params, forced: ForcedParams): string | undefined {
  const raw = p.filter_by;
  const parts = (Array.isArray(raw) ? raw : [raw]).map((v) => text({ filter_by: v }, "filter_by"));
  for (const part of parts) {
    if (part === undefined) continue;
    const check = checkFilterPart(part);
    if (!check.ok) throw badRequest(`Could not parse the filter query: ${check.why}.`);
  }
  return andFilters([...forced.filters, ...parts]);
}

function mergedInclude(p: Params, forced: ForcedParams): string | undefined {
  const caller = fieldList(p, "include_fields");
  if (!forced.includeFields) return caller?.join(",");
  const allowed = forced.includeFields;
  const kept = caller?.filter((f) => allowed.has(f)) ?? [];
  // nothing asked for (or nothing allowed of it): every allowed field, never an empty list,
  // which Typesense would read as "no restriction"
  return (kept.length > 0 ? kept : [...allowed]).join(",");
}

function cap(v: number | undefined, max: number | null, dflt: number): number | undefined {
  if (max === null) return v;
  return Math.min(v ?? dflt, max);
}

/**
 * One search's parameters with the key's scope applied. Pure: returns a new
 * object; never loosens anything the forced params say, whatever the caller
 * sent (test/gateway/tenant-isolation.pg.test.ts):
 *   filter_by      (f1) && ... && (caller), the caller's part one balanced expression
 *   include_fields the caller's ∩ the allowed ones (the allowed ones when that is empty)
 *   exclude_fields the caller's ∪ the forced ones
 *   per_page/limit min(caller's or Typesense's default 10, cap); limit_hits likewise
 *   curated hits   filtered too (filter_curated_hits) whenever a filter is forced
 *   hidden fields  never named where an answer shows their content (query_by, facet_by, ...)
 */
export function applyScope(params: Params, forced: ForcedParams): Params {
  const out: Params = { ...params };
  for (const k of DROPPED) delete out[k];
  for (const k of JOINABLE) refuseJoin(params, k);
  for (const [k, v] of Object.entries(forced.overrides)) if (!SCOPE_KEYS.has(k)) out[k] = v;
  const filter = mergedFilter(params, forced);
  const include = mergedInclude(params, forced);
  const exclude = new Set([
    ...(fieldList(params, "exclude_fields") ?? []),
    ...forced.excludeFields,
  ]);
  const perPage = cap(uint(params, "per_page"), forced.perPageMax, 10);
  const limit = uint(params, "limit");
  const limitHits = cap(uint(params, "limit_hits"), forced.limitHits, Number.MAX_SAFE_INTEGER);
  setOrDelete(out, "filter_by", filter);
  setOrDelete(out, "include_fields", include);
  setOrDelete(out, "exclude_fields", exclude.size > 0 ? [...exclude].join(",") : undefined);
  setOrDelete(out, "per_page", perPage);
  setOrDelete(out, "limit", limit === undefined ? undefined : cap(limit, forced.perPageMax, 10));
  setOrDelete(out, "limit_hits", limitHits);
  if (forced.filters.length > 0) out.filter_curated_hits = true;
  refuseHidden(out, forced);
  return out;
}

/**
 * Parameters whose fields show their content in an answer (snippets, facet values, group
 * keys): a field the key hides (excluded, or outside its include list) may not be named
 * there, else the answer would show what exclude_fields removed from the documents.
 */
const REVEALING = ["query_by", "facet_by", "group_by", "highlight_fields", "highlight_full_fields"];

function refuseHidden(p: Params, forced: ForcedParams): void {
  const { includeFields: only, excludeFields: never } = forced;
  if (!only && never.size === 0) return;
  for (const k of REVEALING) {
    const v = p[k];
    if (typeof v !== "string") continue;
    for (const entry of v.split(",")) {
      // facet_by entries may carry options: "price(low:[0, 10])", "name(sort_by: _alpha:asc)"
      const name = entry.split("(")[0]!.trim();
      if (name === "") continue;
      if (name.includes("*") || never.has(name) || (only && !only.has(name) && name !== "id")) {
        throw badRequest(`Parameter \`${k}\`: field \`${name}\` is not visible with this key.`);
      }
    }
  }
}

function setOrDelete(p: Params, k: string, v: string | number | undefined): void {
  if (v === undefined) delete p[k];
  else p[k] = v;
}
