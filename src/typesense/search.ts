import { parseJson } from "../json/codec.js";
import type { CallOptions, SearchParams, SearchResponse } from "./backend-types.js";
import { badReplyError, errorForStatus, parseReply } from "./errors.js";
import type { TypesenseHttp } from "./http.js";

/** Typesense refuses GET query strings over 4000 characters; this leaves room for the path. */
const MAX_GET_QUERY = 3500;

/**
 * One search (TypesenseBackend.search): a GET .../documents/search, or, when the query string
 * is too long for a GET (big filter_by), the same params in the body of a one-search
 * multi_search, whose per-search error is raised like the status of a plain search.
 */
export async function searchDocuments(
  http: TypesenseHttp,
  collection: string,
  params: SearchParams,
  o: CallOptions = {},
): Promise<SearchResponse> {
  const query = Object.entries(params).filter(([, v]) => v !== undefined);
  const qs = new URLSearchParams(
    query.map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  if (qs.length <= MAX_GET_QUERY) {
    const r = await http.request({
      method: "GET",
      path: `/collections/${encodeURIComponent(collection)}/documents/search`,
      query: params,
      ...o,
    });
    return parseReply(r, "GET search", parseJson) as unknown as SearchResponse;
  }
  const r = await http.request({
    method: "POST",
    path: "/multi_search",
    body: JSON.stringify({ searches: [{ collection, ...Object.fromEntries(query) }] }),
    ...o,
  });
  const reply = parseReply(r, "POST /multi_search", parseJson) as {
    results?: unknown;
  } | null;
  if (!Array.isArray(reply?.results)) {
    throw badReplyError("POST /multi_search", r.node, r.status, "a multi_search result");
  }
  const first = reply.results[0] as Record<string, unknown> | undefined;
  if (!first || typeof first.error === "string") {
    const code = typeof first?.code === "number" ? first.code : 500;
    // Typesense's own words, cut like messageOf's
    const message = String(first?.error ?? "multi_search returned no result").slice(0, 200);
    throw errorForStatus(code, message, r.node);
  }
  return first as unknown as SearchResponse;
}
