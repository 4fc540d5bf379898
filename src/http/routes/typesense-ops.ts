import { createRoute, z } from "@hono/zod-openapi";
import {
  type BackendConnection,
  type BackendPolicy,
  backendConnection,
  checkNodeUrl,
} from "../../control/backends.js";
import type { SearchBindingCache } from "../../control/search-binding.js";
import { onceMoreOnNetworkError, type TypesenseClients } from "../../control/typesense-clients.js";
import { serializeDocument } from "../../json/codec.js";
import type { DocumentValue } from "../../typesense/index.js";
import type { AppDeps } from "../deps.js";
import {
  authErrors,
  conflictError,
  envelopeOf,
  jsonResponse,
  notFoundError,
  success,
  timeoutError,
} from "../envelope.js";
import { createRouter } from "../router.js";
import { BackendTarget, BackendTestResult, CollectionSummary } from "../schemas/backends.js";
import { jsonBody as body } from "../schemas/common.js";
import { SearchBody, SearchResult, searchParams } from "../schemas/search.js";

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
        method: "post",
        path: "/backends/test",
        tags: ["typesense"],
        summary: "Check a saved or unsaved backend: health and latency (seed route)",
        description:
          "Always 200 when the check ran: data.ok false with data.error when no node is healthy.",
        request: body(BackendTarget),
        responses: {
          200: jsonResponse(envelopeOf(BackendTestResult), "Health result"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) => {
        const conn = await connectionOf(c.req.valid("json"));
        const h = await clients.once(conn, (b) => b.health());
        const error = h.nodes.find((n) => !n.ok)?.error;
        return c.json(
          success(h.ok ? "backend healthy" : "backend unhealthy", {
            ok: h.ok,
            latency_ms: h.latencyMs,
            ...(h.ok || error === undefined ? {} : { error }),
          }),
          200,
        );
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/collections/list",
        tags: ["typesense"],
        summary: "List the collections of a saved or unsaved backend (seed route)",
        request: body(BackendTarget),
        responses: {
          200: jsonResponse(
            envelopeOf(z.object({ collections: z.array(CollectionSummary) })),
            "Collections",
          ),
          ...authErrors,
          ...notFoundError,
          ...timeoutError,
        },
      }),
      async (c) => {
        const conn = await connectionOf(c.req.valid("json"));
        const list = await clients.once(conn, (b) =>
          onceMoreOnNetworkError(() => b.listCollections()),
        );
        const collections = list.map((x) => ({
          name: x.name,
          num_documents: x.num_documents,
          fields: x.fields as unknown as Record<string, unknown>[],
        }));
        return c.json(success(`${collections.length} collections`, { collections }), 200);
      },
    )
    .openapi(
      createRoute({
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
        );
        const backend = clients.forSaved(binding.backendVersion, binding.backend);
        const params = searchParams(b, binding.queryableFields);
        const result = await onceMoreOnNetworkError(() =>
          backend.search(binding.collection, params),
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
