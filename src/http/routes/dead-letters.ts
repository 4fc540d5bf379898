import { createRoute, z } from "@hono/zod-openapi";
import type { BackendPolicy } from "../../control/backends.js";
import { discardDeadLetter, getDeadLetter, listDeadLetters } from "../../control/dead-letters.js";
import type { TypesenseClients } from "../../control/typesense-clients.js";
import { retryDeadLetter } from "../../coordination/dead-letter-retry.js";
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
import { ApiError } from "../errors.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";
import { idParam, Paging } from "../schemas/common.js";
import { clientScopeOf } from "../scope.js";

const tags = ["dead-letters"];
const Id = z.object({ dead_letter_id: idParam("dead_letter_id") });
const LetterSchema = z
  .object({
    id: z.uuid(),
    job_id: z.uuid(),
    status: z.enum(["open", "resolved", "discarded"]),
    operation: z.string(),
    attempts: z.number(),
    error_message: z.string(),
  })
  .catchall(z.unknown())
  .openapi("DeadLetter");

/**
 * /typesense/dead-letters: documents Typesense rejected for good. Retry
 * writes the row's current document (or deletes the doc when the row is gone)
 * synchronously, through the CDC stream when the job streams here
 * (see coordination/dead-letter-retry.ts):
 * 200 resolved, or 400 with Typesense's new message (letter stays open,
 * attempts + 1). Discard closes a letter without sending anything.
 */
const RESOLVED = {
  written: "the row's current document was written",
  deleted: "the row is gone: the document was deleted",
  superseded: "the CDC stream wrote a newer version meanwhile",
} as const;

export function deadLetterRoutes(deps: AppDeps, policy: BackendPolicy, clients: TypesenseClients) {
  const pool = deps.pools.control;
  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/",
        tags,
        summary: "List dead letters, most recent failure first",
        request: {
          query: Paging.extend({
            job_id: z.string().max(200).optional(),
            status: z.enum(["open", "resolved", "discarded"]).optional(),
          }),
        },
        responses: {
          200: jsonResponse(envelopeOf(z.array(LetterSchema)), "Letters"),
          ...authErrors,
        },
      }),
      async (c) => {
        const q = c.req.valid("query");
        const rows = await listDeadLetters(pool, {
          scope: clientScopeOf(c),
          jobId: q.job_id,
          status: q.status,
          limit: q.limit,
          offset: q.offset,
        });
        return c.json(success(`${rows.length} dead letters`, rows), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/{dead_letter_id}",
        tags,
        summary: "One dead letter with its payload",
        request: { params: Id },
        responses: {
          200: jsonResponse(envelopeOf(LetterSchema), "Letter"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) =>
        c.json(
          success(
            "dead letter",
            await getDeadLetter(pool, c.req.valid("param").dead_letter_id, clientScopeOf(c)),
          ),
          200,
        ),
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "post",
        path: "/{dead_letter_id}/retry",
        tags,
        summary: "Write the row's current document (or delete the doc when the row is gone) now",
        request: { params: Id },
        responses: {
          200: jsonResponse(envelopeOf(LetterSchema), "Typesense accepted it; letter resolved"),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
          ...timeoutError,
        },
      }),
      async (c) => {
        const r = await retryDeadLetter(
          {
            control: pool,
            source: (name) => deps.pools.source(name),
            box: policy.box,
            clients,
            watermarks: deps.watermarks,
            cdcActive: deps.config.cdc.enabled,
          },
          c.req.valid("param").dead_letter_id,
          clientScopeOf(c),
        );
        if (r.outcome === "resolved") {
          return c.json(success(`dead letter resolved (${RESOLVED[r.action]})`, r.letter), 200);
        }
        throw new ApiError(
          "TYPESENSE_REJECTED",
          `Typesense rejected the document again: ${r.error}`,
          {
            typesense_status: r.code,
            attempts: r.letter.attempts,
          },
        );
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "post",
        path: "/{dead_letter_id}/discard",
        tags,
        summary: "Close an open letter without re-sending it",
        request: { params: Id },
        responses: {
          200: jsonResponse(envelopeOf(LetterSchema), "Discarded"),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
        },
      }),
      async (c) =>
        c.json(
          success(
            "dead letter discarded",
            await discardDeadLetter(pool, c.req.valid("param").dead_letter_id, clientScopeOf(c)),
          ),
          200,
        ),
    );
}
