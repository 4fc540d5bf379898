import type { CallOptions, CollectionAlias } from "./backend-types.js";
import { badReplyError, parseReply } from "./errors.js";
import type { HttpResponse, TypesenseHttp } from "./http.js";

/*
 * The alias calls of the backend (PUT/GET/DELETE /aliases/:a, GET /aliases). Errors are
 * classified like every other call (errors.ts); a 404 of GET or DELETE is "no such alias",
 * answered as null. One call is one HTTP attempt: retries belong to the caller (withRetry).
 */

const aliasPath = (name: string) => `/aliases/${encodeURIComponent(name)}`;

function isAlias(v: unknown): v is CollectionAlias {
  const a = v as Partial<CollectionAlias> | null;
  return (
    typeof a === "object" &&
    a !== null &&
    typeof a.name === "string" &&
    typeof a.collection_name === "string"
  );
}

/** The alias in an answer; anything else is a badReplyError (never echoed). */
function aliasOf(r: HttpResponse, what: string): CollectionAlias {
  const v = parseReply(r, what);
  if (!isAlias(v)) throw badReplyError(what, r.node, r.status, "an alias");
  // Typesense echoes the request body with the name; keep only the alias itself.
  return { name: v.name, collection_name: v.collection_name };
}

export async function upsertAlias(
  http: TypesenseHttp,
  name: string,
  collection: string,
  o: CallOptions = {},
): Promise<CollectionAlias> {
  const r = await http.request({
    method: "PUT",
    path: aliasPath(name),
    body: JSON.stringify({ collection_name: collection }),
    ...o,
  });
  return aliasOf(r, "PUT /aliases/:name");
}

/** GET or DELETE of one alias: null on 404. */
export async function aliasCall(
  http: TypesenseHttp,
  method: "GET" | "DELETE",
  name: string,
  o: CallOptions = {},
): Promise<CollectionAlias | null> {
  const r = await http.request({ method, path: aliasPath(name), accept: [404], ...o });
  return r.status === 404 ? null : aliasOf(r, `${method} /aliases/:name`);
}

export async function listAliases(
  http: TypesenseHttp,
  o: CallOptions = {},
): Promise<CollectionAlias[]> {
  const r = await http.request({ method: "GET", path: "/aliases", ...o });
  const v = parseReply(r, "GET /aliases") as { aliases?: unknown } | null;
  const list = typeof v === "object" && v !== null ? v.aliases : undefined;
  if (!Array.isArray(list) || !list.every(isAlias)) {
    throw badReplyError("GET /aliases", r.node, r.status, "a list of aliases");
  }
  return list.map((a) => ({ name: a.name, collection_name: a.collection_name }));
}
