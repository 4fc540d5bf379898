import { createRoute, z } from "@hono/zod-openapi";
import { getCdcStream, listCdcStreams } from "../../control/cdc-streams.js";
import type { AppDeps } from "../deps.js";
import { authErrors, envelopeOf, jsonResponse, notFoundError, success } from "../envelope.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";
import { idParam } from "../schemas/common.js";
import { clientScopeOf } from "../scope.js";

const tags = ["cdc-streams"];
const StreamSchema = z
  .object({ source_client_name: z.string(), slot_name: z.string(), status: z.string() })
  .catchall(z.unknown())
  .openapi("CdcStream");

/** /typesense/cdc-streams: read-only status of the logical replication streams. */
export function cdcStreamRoutes(deps: AppDeps) {
  const pool = deps.pools.control;
  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/",
        tags,
        summary: "Every CDC stream: slot, status, confirmed LSN, lag, last error",
        responses: {
          200: jsonResponse(envelopeOf(z.array(StreamSchema)), "Streams"),
          ...authErrors,
        },
      }),
      async (c) => {
        const rows = await listCdcStreams(pool, clientScopeOf(c));
        return c.json(success(`${rows.length} CDC streams`, rows), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/{source_client_name}",
        tags,
        summary: "The CDC stream of one source client",
        request: { params: z.object({ source_client_name: idParam("source_client_name") }) },
        responses: {
          200: jsonResponse(envelopeOf(StreamSchema), "Stream"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) =>
        c.json(
          success(
            "CDC stream",
            await getCdcStream(pool, c.req.valid("param").source_client_name, clientScopeOf(c)),
          ),
          200,
        ),
    );
}
