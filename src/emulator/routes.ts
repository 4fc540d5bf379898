import { Collection } from "./collection.js";
import {
  createDocument,
  type DocContext,
  deleteByFilter,
  deleteDocument,
  type EmulatorStats,
  exportDocuments,
  getDocument,
  patchDocument,
  updateByFilter,
} from "./documents.js";
import { ApiError } from "./errors.js";
import { json, message, parseJsonBody, type Reply } from "./http.js";
import { importDocuments } from "./import.js";
import { parseAlter, parseCollectionSchema } from "./schema.js";
import { type SearchParams, search } from "./search.js";

/** Everything the Typesense routes operate on. One per emulator; no global state. */
export interface EmulatorState {
  readonly collections: Map<string, Collection>;
  /** alias -> collection name */
  readonly aliases: Map<string, string>;
  readonly nullSink: boolean;
  /** With nullSink: scan import lines instead of parsing and validating them. */
  readonly fastSink: boolean;
  readonly stats: EmulatorStats;
  /** Creation counter for collections (newest-first listing). */
  serial: number;
}

/** A matched route: whether it needs the body and API key, and its handler. */
export interface Route {
  readonly needsBody: boolean;
  /** /health is the only route that needs no API key. */
  readonly public?: boolean;
  handle(
    state: EmulatorState,
    params: Record<string, string>,
    body: string,
    rawQuery: string,
  ): Reply;
  /**
   * When set, the server calls this with the body's raw chunks instead of `handle` with the
   * decoded body (the import route: the fast null sink decodes it line-aligned, null-sink.ts).
   */
  handleChunks?(state: EmulatorState, params: Record<string, string>, chunks: Buffer[]): Reply;
}

const MAX_GET_QUERY = 4000;

/** A real collection by name first, then an alias target. */
export function resolveCollection(state: EmulatorState, name: string): Collection | undefined {
  const direct = state.collections.get(name);
  if (direct) return direct;
  const target = state.aliases.get(name);
  return target === undefined ? undefined : state.collections.get(target);
}

function mustResolve(state: EmulatorState, name: string): Collection {
  const c = resolveCollection(state, name);
  if (!c) throw new ApiError(404, "Collection not found");
  return c;
}

function docContext(
  state: EmulatorState,
  name: string,
  params: Record<string, string>,
): DocContext {
  return {
    coll: mustResolve(state, name),
    params,
    nullSink: state.nullSink,
    fastSink: state.fastSink,
    stats: state.stats,
  };
}

function docRoute(
  name: string,
  needsBody: boolean,
  fn: (ctx: DocContext, body: string) => Reply,
): Route {
  return { needsBody, handle: (state, params, body) => fn(docContext(state, name, params), body) };
}

function decodeSegment(s: string): string {
  if (!s.includes("%")) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Finds the route for a method and path; undefined means 404 "Not Found" (before auth). */
export function matchRoute(method: string, path: string): Route | undefined {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  const seg = trimmed.split("/").slice(1).map(decodeSegment);
  const [a, b, c, d, e] = seg;
  const n = seg.length;
  if (n === 1 && a === "health" && method === "GET") {
    return { needsBody: false, public: true, handle: () => json(200, { ok: true }) };
  }
  if (a === "collections") {
    if (n === 1) {
      if (method === "GET") return { needsBody: false, handle: listCollections };
      if (method === "POST") return { needsBody: true, handle: createCollection };
      return undefined;
    }
    const name = b!;
    if (n === 2) {
      if (method === "GET") {
        return { needsBody: false, handle: (s) => json(200, mustResolve(s, name).summary()) };
      }
      if (method === "DELETE") return { needsBody: false, handle: (s) => dropCollection(s, name) };
      if (method === "PATCH") {
        return { needsBody: true, handle: (s, _p, body) => alterCollection(s, name, body) };
      }
      return undefined;
    }
    if (c !== "documents") return undefined;
    if (n === 3) {
      if (method === "POST") return docRoute(name, true, createDocument);
      if (method === "DELETE") return docRoute(name, false, deleteByFilter);
      if (method === "PATCH") return docRoute(name, true, updateByFilter);
      return undefined;
    }
    if (n !== 4) return undefined;
    const id = d!;
    if (id === "import" && method === "POST") {
      return {
        ...docRoute(name, true, importDocuments),
        handleChunks: (state, params, chunks) =>
          importDocuments(docContext(state, name, params), chunks),
      };
    }
    if (id === "export" && method === "GET") return docRoute(name, false, exportDocuments);
    if (id === "search" && method === "GET") {
      return {
        needsBody: false,
        handle: (s, params, _body, rawQuery) => {
          if (rawQuery.length > MAX_GET_QUERY) {
            throw new ApiError(
              400,
              "Query string exceeds max allowed length of 4000. Use the /multi_search end-point for larger payloads.",
            );
          }
          return json(200, search(mustResolve(s, name), params));
        },
      };
    }
    if (method === "GET") return docRoute(name, false, (ctx) => getDocument(ctx, id));
    if (method === "PATCH")
      return docRoute(name, true, (ctx, body) => patchDocument(ctx, id, body));
    if (method === "DELETE") return docRoute(name, false, (ctx) => deleteDocument(ctx, id));
    return undefined;
  }
  if (a === "aliases") {
    if (n === 1 && method === "GET") {
      return {
        needsBody: false,
        handle: (s) =>
          json(200, {
            aliases: [...s.aliases].map(([alias, target]) => ({
              collection_name: target,
              name: alias,
            })),
          }),
      };
    }
    if (n !== 2) return undefined;
    const alias = b!;
    if (method === "PUT")
      return { needsBody: true, handle: (s, _p, body) => putAlias(s, alias, body) };
    if (method === "GET" || method === "DELETE") {
      return {
        needsBody: false,
        handle: (s) => {
          const target = s.aliases.get(alias);
          // Typesense's get_alias/del_alias answer a missing alias with this text (v29, v30).
          if (target === undefined) return message(404, "Collection not found");
          if (method === "DELETE") s.aliases.delete(alias);
          return json(200, { collection_name: target, name: alias });
        },
      };
    }
    return undefined;
  }
  if (n === 1 && a === "multi_search" && method === "POST") {
    return { needsBody: true, handle: multiSearch };
  }
  void e;
  return undefined;
}

function listCollections(state: EmulatorState): Reply {
  const all = [...state.collections.values()].sort(
    (x, y) => y.createdAt - x.createdAt || y.serial - x.serial,
  );
  return json(
    200,
    all.map((c) => c.summary()),
  );
}

function createCollection(state: EmulatorState, _p: Record<string, string>, body: string): Reply {
  const schema = parseCollectionSchema(parseJsonBody(body));
  if (state.collections.has(schema.name)) {
    throw new ApiError(409, `A collection with name \`${schema.name}\` already exists.`);
  }
  const coll = new Collection(schema, Math.floor(Date.now() / 1000), state.serial++);
  state.collections.set(schema.name, coll);
  return json(201, coll.summary());
}

function dropCollection(state: EmulatorState, name: string): Reply {
  const coll = resolveCollection(state, name);
  if (!coll) throw new ApiError(404, `No collection with name \`${name}\` found.`);
  const summary = coll.summary();
  state.collections.delete(coll.name);
  return json(200, summary);
}

function alterCollection(state: EmulatorState, name: string, body: string): Reply {
  const coll = mustResolve(state, name);
  const { ops, metadata, echo } = parseAlter(parseJsonBody(body), coll.schema);
  coll.alter(ops, metadata);
  return json(200, echo);
}

/**
 * PUT /aliases/:a, an upsert: a new alias or a repoint of an existing one, in one step (the
 * map write is atomic; a search resolves either the old or the new target, never neither).
 * Like Typesense (put_upsert_alias): only the presence of `collection_name` is checked (the
 * target need not exist), a name a collection holds is refused with 500, and the answer is the
 * request body with `name` set to the alias, keys sorted (nlohmann's object order).
 */
function putAlias(state: EmulatorState, alias: string, body: string): Reply {
  const payload = parseJsonBody(body);
  const fields =
    typeof payload === "object" && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : {};
  const target = fields.collection_name;
  if (target === undefined) throw new ApiError(400, "Parameter `collection_name` is required.");
  // Typesense converts the value to a string without a check (a non-string throws inside the
  // server); the emulator answers a clear 400 instead (docs/emulator.md).
  if (typeof target !== "string") {
    throw new ApiError(400, "Parameter `collection_name` must be a string.");
  }
  if (state.collections.has(alias)) {
    throw new ApiError(500, `Name \`${alias}\` conflicts with an existing collection name.`);
  }
  state.aliases.set(alias, target);
  const echo: Record<string, unknown> = { ...fields, name: alias };
  const sorted = Object.fromEntries(
    Object.keys(echo)
      .sort()
      .map((k) => [k, echo[k]]),
  );
  return json(200, sorted);
}

const MAX_MULTI_SEARCHES = 50;

/** Pagination of a union (v30): top level only, ignored per search. */
const UNION_PAGINATION = new Set(["page", "per_page", "offset", "limit"]);

/**
 * One search of a multi_search: its body keys as strings, then the URL's params, which are
 * common to every search and win over the same body key, except filter_by, which is ANDed.
 * Under `union` the URL's pagination is the union's, not the search's.
 */
function mergedSearch(s: unknown, params: Record<string, string>, union: boolean): SearchParams {
  const merged: SearchParams = {};
  if (typeof s === "object" && s !== null) {
    for (const [k, v] of Object.entries(s)) {
      if (v !== undefined && v !== null) merged[k] = typeof v === "string" ? v : String(v);
    }
  }
  for (const [k, v] of Object.entries(params)) {
    if (k === "x-typesense-api-key" || (union && UNION_PAGINATION.has(k))) continue;
    if (k === "filter_by" && merged.filter_by) merged.filter_by = `(${merged.filter_by})&&(${v})`;
    else merged[k] = v;
  }
  return merged;
}

/**
 * `union: true` (v30), minimally: every search runs for its first 250 hits, the hits are
 * merged by text_match (stable, so wildcard searches keep their order), tagged with
 * `search_index`, and paginated by the top-level page/per_page. A failing search fails the
 * request with its status. No duplicate removal.
 */
function unionSearch(
  state: EmulatorState,
  params: Record<string, string>,
  searches: unknown[],
): Reply {
  const hits: Record<string, unknown>[] = [];
  let found = 0;
  let outOf = 0;
  const requestParams: Record<string, unknown>[] = [];
  searches.forEach((s, i) => {
    const merged: SearchParams = { ...mergedSearch(s, params, true), page: "1", per_page: "250" };
    const name = merged.collection;
    if (name === undefined) throw new ApiError(400, "Parameter `collection` is required.");
    const r = search(mustResolve(state, name), merged) as {
      found: number;
      out_of: number;
      hits: Record<string, unknown>[];
    };
    found += r.found;
    outOf += r.out_of;
    for (const h of r.hits) hits.push({ ...h, search_index: i });
    requestParams.push({ collection: name, found: r.found, q: merged.q });
  });
  const score = (h: Record<string, unknown>) => Number(h.text_match ?? 0);
  hits.sort((a, b) => score(b) - score(a));
  const perPage = Math.min(250, Number.parseInt(params.per_page ?? "10", 10) || 10);
  const page = Math.max(1, Number.parseInt(params.page ?? "1", 10) || 1);
  return json(200, {
    found,
    hits: hits.slice((page - 1) * perPage, page * perPage),
    out_of: outOf,
    page,
    search_cutoff: false,
    search_time_ms: 0,
    union_request_params: requestParams,
  });
}

function multiSearch(state: EmulatorState, params: Record<string, string>, body: string): Reply {
  const payload = parseJsonBody(body);
  const searches =
    typeof payload === "object" && payload !== null
      ? (payload as Record<string, unknown>).searches
      : undefined;
  if (!Array.isArray(searches)) throw new ApiError(400, "Missing `searches` array.");
  const limit = params.limit_multi_searches
    ? Number.parseInt(params.limit_multi_searches, 10)
    : MAX_MULTI_SEARCHES;
  if (searches.length > limit) {
    throw new ApiError(400, "Number of multi searches exceeds `limit_multi_searches` parameter.");
  }
  const union = (payload as Record<string, unknown>).union === true;
  if (union) return unionSearch(state, params, searches);
  const results = searches.map((s: unknown) => {
    const merged = mergedSearch(s, params, false);
    try {
      const name = merged.collection;
      if (name === undefined) throw new ApiError(400, "Parameter `collection` is required.");
      return search(mustResolve(state, name), merged);
    } catch (e) {
      if (e instanceof ApiError) return { code: e.status, error: e.message };
      throw e;
    }
  });
  return json(200, { results });
}
