import { onceMoreOnStatus404 } from "../control/alias-window.js";
import type { TypesenseClients } from "../control/typesense-clients.js";
import { onceMoreOnNetworkError } from "../control/typesense-clients.js";
import { type DocumentValue, parseJson, serializeDocument } from "../json/codec.js";
import { TypesenseError } from "../typesense/index.js";
import { badRequest, GatewayError, notFound } from "./errors.js";
import type { GatewayBinding, GatewayPrincipal } from "./keys.js";
import { applyScope } from "./scope.js";

/** Typesense's answer, handed to the caller as it is. */
export interface Passed {
  status: number;
  body: string;
}

type Params = Record<string, unknown>;
/** Typesense refuses GET query strings over 4000 characters; this leaves room for the path. */
const MAX_GET_QUERY = 3500;
const MAX_MULTI_SEARCHES = 50;
/** Under `union: true` these stay top level (Typesense ignores them per search). */
const UNION_PAGINATION = new Set(["page", "per_page", "offset", "limit", "limit_hits"]);

/** The binding of a collection the key may read; 404 "Not Found" like Typesense for the rest. */
export function bindingFor(p: GatewayPrincipal, name: unknown): GatewayBinding {
  const b = typeof name === "string" ? p.collections.get(name) : undefined;
  if (!b) throw notFound();
  return b;
}

/** Backend failures in Typesense's shape, with no node address or detail in them. */
export function backendFailure(e: unknown): GatewayError {
  if (!(e instanceof TypesenseError)) throw e;
  if (e.kind === "timeout") return new GatewayError(504, "Typesense timed out");
  if (e.kind === "reply") return new GatewayError(502, "Bad Gateway");
  return new GatewayError(e.status && e.status >= 500 ? e.status : 503, "Not Ready or Lagging");
}

async function send(
  clients: TypesenseClients,
  b: GatewayBinding,
  spec: Parameters<ReturnType<TypesenseClients["forSaved"]>["forward"]>[0],
): Promise<Passed> {
  const backend = clients.forSaved(b.backend);
  try {
    // every forward is a read of a bound (job's) collection: a 404 may be the
    // wave-1 migration window of its alias, so it is asked once more after a pause
    return await onceMoreOnStatus404(() => onceMoreOnNetworkError(() => backend.forward(spec)));
  } catch (e) {
    throw backendFailure(e);
  }
}

/** GET /collections/:c of a bound collection (adapters read the schema), passed through. */
export function readCollection(clients: TypesenseClients, b: GatewayBinding): Promise<Passed> {
  return send(clients, b, {
    method: "GET",
    path: `/collections/${encodeURIComponent(b.collection)}`,
  });
}

const asQuery = (p: Params): Record<string, string> =>
  Object.fromEntries(
    Object.entries(p)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [k, typeof v === "string" ? v : String(v)]),
  );

/**
 * One search of a bound collection with the key's scope applied, forwarded
 * as a GET whose answer passes through. A query string too long for a GET
 * goes as a one-search multi_search, whose first result is unwrapped (this
 * rare path parses and re-serializes, int64-exact).
 */
export async function searchCollection(
  clients: TypesenseClients,
  p: GatewayPrincipal,
  b: GatewayBinding,
  params: Params,
): Promise<Passed> {
  // the path names the collection; a `collection` parameter is not the caller's to add
  const { collection: _ignored, ...rest } = params;
  const query = asQuery(applyScope(rest, p.forced));
  const path = `/collections/${encodeURIComponent(b.collection)}/documents/search`;
  if (new URLSearchParams(query).toString().length <= MAX_GET_QUERY) {
    return send(clients, b, { method: "GET", path, query });
  }
  const r = await send(clients, b, {
    method: "POST",
    path: "/multi_search",
    body: JSON.stringify({ searches: [{ ...query, collection: b.collection }] }),
  });
  if (r.status !== 200) return r;
  const reply = parseJson(r.body) as { results?: Record<string, DocumentValue>[] } | null;
  const first = reply?.results?.[0];
  if (!first) throw new GatewayError(502, "Bad Gateway");
  if (typeof first.error === "string") {
    const code = typeof first.code === "number" ? first.code : 500;
    return { status: code, body: JSON.stringify({ message: first.error }) };
  }
  return { status: 200, body: serializeDocument(first as DocumentValue) };
}

/** The caller's filter_by parts (a repeated URL param, a body value) as one list. */
function withCommon(search: Params, common: Params, union: boolean): Params {
  const merged: Params = { ...search };
  for (const [k, v] of Object.entries(common)) {
    if (union && UNION_PAGINATION.has(k)) continue;
    if (k === "filter_by" && merged.filter_by !== undefined) {
      // Typesense ANDs the URL's filter_by with each search's; applyScope checks both parts
      merged.filter_by = [merged.filter_by, v];
    } else merged[k] = v;
  }
  return merged;
}

/** A search object of the body, or 400 like Typesense. */
function searchObject(s: unknown): Params {
  if (typeof s !== "object" || s === null || Array.isArray(s)) throw badRequest("Bad JSON.");
  return s as Params;
}

/**
 * POST /multi_search: every search must name a collection the key may read
 * (else the whole request is 404, as a search of it alone would be). Searches
 * of one backend go in one request whose answer passes through; several
 * backends are asked in parallel (fanOut). The URL's common params are moved INTO each search (a URL
 * param beats the same body key, filter_by is AND-ed: Typesense's rule), so
 * nothing the caller sends reaches Typesense outside applyScope: a URL
 * include_fields would otherwise beat the forced one in the body. Under
 * `union: true` the pagination params stay top level, capped.
 */
export async function multiSearch(
  clients: TypesenseClients,
  p: GatewayPrincipal,
  bodyText: string,
  common: Params,
): Promise<Passed> {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    throw badRequest("Bad JSON.");
  }
  const searches = (body as { searches?: unknown } | null)?.searches;
  if (!Array.isArray(searches)) throw badRequest("Missing `searches` array.");
  if (searches.length > Math.min(p.limitMultiSearches ?? MAX_MULTI_SEARCHES, MAX_MULTI_SEARCHES)) {
    throw badRequest("Number of multi searches exceeds `limit_multi_searches` parameter.");
  }
  const union = (body as { union?: unknown }).union === true;
  // nothing to forward (and no backend to ask): Typesense's answer to an empty list
  if (searches.length === 0 && !union) return { status: 200, body: '{"results":[]}' };
  const scoped = searches.map((s) => {
    const merged = withCommon(searchObject(s), common, union);
    return { b: bindingFor(p, merged.collection), search: applyScope(merged, p.forced) };
  });
  const groups = byBackend(scoped);
  if (groups.length === 1 || union) {
    if (groups.length > 1) {
      throw badRequest("The searches of a union must use collections of one backend.");
    }
    return send(clients, scoped[0]!.b, {
      method: "POST",
      path: "/multi_search",
      query: union ? unionPagination(common, p) : {},
      body: JSON.stringify({
        ...(union ? { union: true } : {}),
        searches: scoped.map((x) => x.search),
      }),
    });
  }
  return fanOut(clients, groups, scoped.length);
}

type Scoped = { b: GatewayBinding; search: Params };
type Group = { b: GatewayBinding; items: { index: number; search: Params }[] };

/** The searches per backend (profile), each with its place in the request. */
function byBackend(scoped: Scoped[]): Group[] {
  const groups = new Map<string | null, Group>();
  scoped.forEach(({ b, search }, index) => {
    const g = groups.get(b.backend.profileId) ?? { b, items: [] };
    g.items.push({ index, search });
    groups.set(b.backend.profileId, g);
  });
  return [...groups.values()];
}

/**
 * A multi_search over collections of several backends: one multi_search per backend, in
 * parallel, and the results put back in request order. The only path that parses an answer
 * (int64-exact codec); a backend's non-200 answer is passed on as it is.
 */
async function fanOut(clients: TypesenseClients, groups: Group[], n: number): Promise<Passed> {
  const answers = await Promise.all(
    groups.map((g) =>
      send(clients, g.b, {
        method: "POST",
        path: "/multi_search",
        body: JSON.stringify({ searches: g.items.map((x) => x.search) }),
      }),
    ),
  );
  const results: DocumentValue[] = new Array(n);
  for (const [i, g] of groups.entries()) {
    const r = answers[i]!;
    if (r.status !== 200) return r;
    const got = (parseJson(r.body) as { results?: DocumentValue[] } | null)?.results;
    if (!Array.isArray(got) || got.length !== g.items.length) {
      throw new GatewayError(502, "Bad Gateway");
    }
    g.items.forEach((x, k) => {
      results[x.index] = got[k]!;
    });
  }
  return { status: 200, body: serializeDocument({ results } as DocumentValue) };
}

/** The union's top-level pagination, capped like a single search's. */
function unionPagination(common: Params, p: GatewayPrincipal): Record<string, string> {
  const page: Params = {};
  for (const k of UNION_PAGINATION) if (common[k] !== undefined) page[k] = common[k];
  const capped = applyScope(page, { ...p.forced, filters: [], overrides: {} });
  const out = asQuery(capped);
  for (const k of Object.keys(out)) if (!UNION_PAGINATION.has(k)) delete out[k];
  return out;
}
