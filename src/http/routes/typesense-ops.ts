import { createRoute, z } from "@hono/zod-openapi";
import { onceMoreInAliasWindow } from "../../control/alias-window.js";
import {
  type BackendConnection,
  type BackendPolicy,
  backendConnection,
  checkNodeUrl,
  collectionsInScope,
} from "../../control/backends.js";
import type { SearchBindingCache } from "../../control/search-binding.js";
import { onceMoreOnNetworkError, type TypesenseClients } from "../../control/typesense-clients.js";
import { serializeDocument } from "../../json/codec.js";
import {
  type DocumentValue,
  type TypesenseBackend,
  TypesenseError,
} from "../../typesense/index.js";
import type { AppDeps } from "../deps.js";
import {
  authErrors,
  badGatewayError,
  conflictError,
  envelopeOf,
  jsonResponse,
  notFoundError,
  success,
  timeoutError,
} from "../envelope.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";
import { BackendTarget, BackendTestResult, CollectionSummary } from "../schemas/backends.js";
import { jsonBody as body } from "../schemas/common.js";
import { SearchBody, SearchResult, searchParams } from "../schemas/search.js";
import { clientScopeOf } from "../scope.js";

type TestResult = z.infer<typeof BackendTestResult>;

/**
 * backends/test: /health on every node, then, when one is healthy, one
 * authenticated call, because /health needs no key and a wrong key would
 * otherwise test "healthy". A refused key (401/403) is told apart from an
 * unreachable or unhealthy backend.
 */
async function testBackend(b: TypesenseBackend): Promise<{ message: string; data: TestResult }> {
  const h = await b.health();
  const base = { latency_ms: h.latencyMs, reachable: h.nodes.some((n) => n.reachable) };
  if (!h.ok) {
    const error = h.nodes.find((n) => !n.ok)?.error ?? "no healthy node";
    const message = base.reachable ? "backend unhealthy" : "backend unreachable";
    return { message, data: { ok: false, ...base, key_accepted: null, error } };
  }
  try {
    await onceMoreOnNetworkError(() => b.verifyKey());
    return { message: "backend healthy", data: { ok: true, ...base, key_accepted: true } };
  } catch (e) {
    if (!(e instanceof TypesenseError)) throw e;
    if (e.status === 401 || e.status === 403) {
      const error = `Typesense refused the API key (HTTP ${e.status}): ${e.message}`;
      return { message: "key refused", data: { ok: false, ...base, key_accepted: false, error } };
    }
    // healthy but the authenticated call failed otherwise (5xx, a redirect, not Typesense's reply)
    return {
      message: "backend unhealthy",
      data: { ok: false, ...base, key_accepted: null, error: e.message },
    };
  }
}

/**
 * Athena's seed routes under /typesense: backends/test, collections/list,
 * search (sync-jobs/{id}/run lives with the jobs). Typesense failures map in
 * the app's onError: 4xx -> 400 with Typesense's message, down -> 503,
 * timeout -> 504.
 */
export function typesenseOpsRoutes(
  deps: AppDeps,
  policy: BackendPolicy,
  clients: TypesenseClients,
  bindings: SearchBindingCache,
) {
  const pool = deps.pools.control;
  const connectionOf = async (t: z.infer<typeof BackendTarget>): Promise<BackendConnection> =>
    "profile_id" in t
      ? backendConnection(pool, policy.box, t.profile_id)
      : {
          profileId: null,
          nodes: [checkNodeUrl(t.base_url, policy.allowHttp, "base_url")],
          apiKey: t.api_key,
          timeoutMs: t.timeout_ms ?? 5000,
        };

  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "post",
        path: "/backends/test",
        tags: ["typesense"],
        summary: "Check a saved or unsaved backend: health, latency and its key (seed route)",
        description:
          "Always 200 when the check ran. /health (no key) on every node, then one " +
          "authenticated call (GET /collections?limit=1). message: `backend healthy`, " +
          "`backend unreachable` (no node answered), `backend unhealthy` (a node answered, none " +
          "healthy) or `key refused` (Typesense answered 401/403); data.ok is true only for the " +
          "first, data.error says why otherwise.",
        request: body(BackendTarget),
        responses: {
          200: jsonResponse(envelopeOf(BackendTestResult), "Health result"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) => {
        const conn = await connectionOf(c.req.valid("json"));
        const r = await clients.once(conn, testBackend);
        return c.json(success(r.message, r.data), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "post",
        path: "/collections/list",
        tags: ["typesense"],
        summary: "List the collections of a saved or unsaved backend (seed route)",
        description:
          "With a saved backend (profile_id) and a client-bound key, only the collections of " +
          "that client's sync jobs on the backend are listed; an unsaved backend (the caller's " +
          "own base_url + api_key) and unbound keys get every collection.",
        request: body(BackendTarget),
        responses: {
          200: jsonResponse(
            envelopeOf(z.object({ collections: z.array(CollectionSummary) })),
            "Collections",
          ),
          ...authErrors,
          ...notFoundError,
          ...timeoutError,
          ...badGatewayError,
        },
      }),
      async (c) => {
        const conn = await connectionOf(c.req.valid("json"));
        const [list, aliases] = await clients.once(conn, (b) =>
          onceMoreOnNetworkError(() => Promise.all([b.listCollections(), b.listAliases()])),
        );
        // collection -> the aliases naming it: a job's collection_name is the alias of
        // its live version `<collection_name>__v<N>` (docs/full-sync.md "Rebuilds")
        const aliasesOf = new Map<string, string[]>();
        for (const a of aliases) {
          aliasesOf.set(a.collection_name, [...(aliasesOf.get(a.collection_name) ?? []), a.name]);
        }
        // A saved backend is shared: a client-bound key sees only its own jobs'
        // collections there (by name, or through the job's alias). An inline backend is
        // unfiltered: the caller holds its key.
        const visible =
          conn.profileId === null
            ? null
            : await collectionsInScope(pool, conn.profileId, clientScopeOf(c));
        const seen = (name: string) =>
          visible === null ||
          visible.has(name) ||
          (aliasesOf.get(name) ?? []).some((a) => visible.has(a));
        const collections = list
          .filter((x) => seen(x.name))
          .map((x) => ({
            name: x.name,
            aliases: (aliasesOf.get(x.name) ?? []).filter(
              (a) => visible === null || visible.has(a),
            ),
            num_documents: x.num_documents,
            fields: x.fields as unknown as Record<string, unknown>[],
          }));
        return c.json(success(`${collections.length} collections`, { collections }), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_search"),
        method: "post",
        path: "/search",
        tags: ["typesense"],
        summary: "Search through a sync job's binding (seed route)",
        description:
          "404 when no enabled job matches, 409 when several do (pass job_id). query_by defaults " +
          "to the job's queryable fields. A Typesense 4xx comes back as 400 with Typesense's message.",
        request: body(SearchBody),
        responses: {
          200: jsonResponse(envelopeOf(SearchResult), "Typesense's result in data.result"),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
          ...timeoutError,
          ...badGatewayError,
        },
      }),
      async (c) => {
        const b = c.req.valid("json");
        const binding = await bindings.resolve(
          b.job_id !== undefined
            ? { job_id: b.job_id }
            : {
                source_client_name: b.source_client_name!,
                source_schema_name: b.source_schema_name ?? "public",
                source_table_name: b.source_table_name!,
              },
          clientScopeOf(c),
        );
        const backend = clients.forSaved(binding.backend);
        const params = searchParams(b, binding.queryableFields);
        // a 404 may be the wave-1 migration window of the job's alias: once more after a pause
        const result = await onceMoreInAliasWindow(() =>
          onceMoreOnNetworkError(() => backend.search(binding.collection, params)),
        );
        // Serialized by hand: documents may hold int64 values as bigint (exact),
        // which c.json cannot write; `as never` because the typed-response check
        // only knows c.json results. The body still matches SearchResult.
        const envelope = success(`found ${result.found}`, {
          job_id: binding.jobId,
          collection: binding.collection,
          result,
        });
        return c.body(serializeDocument(envelope as unknown as DocumentValue), 200, {
          "content-type": "application/json; charset=UTF-8",
        }) as never;
      },
    );
}
