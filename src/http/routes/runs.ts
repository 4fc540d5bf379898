import { createRoute, z } from "@hono/zod-openapi";
import { getRun, listRuns } from "../../control/runs.js";
import type { AppDeps } from "../deps.js";
import { authErrors, envelopeOf, jsonResponse, notFoundError, success } from "../envelope.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";
import { idParam, Paging } from "../schemas/common.js";
import { RunSchema } from "../schemas/jobs.js";
import { clientScopeOf } from "../scope.js";

const tags = ["sync-runs"];

/** /typesense/sync-runs: run history with progress (read-only; the engine writes runs). */
export function runRoutes(deps: AppDeps) {
  const pool = deps.pools.control;
  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/",
        tags,
        summary: "List runs, newest first",
        request: {
          query: Paging.extend({
            job_id: z.string().max(200).optional(),
            status: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]).optional(),
          }),
        },
        responses: { 200: jsonResponse(envelopeOf(z.array(RunSchema)), "Runs"), ...authErrors },
      }),
      async (c) => {
        const q = c.req.valid("query");
        const runs = await listRuns(pool, {
          scope: clientScopeOf(c),
          jobId: q.job_id,
          status: q.status,
          limit: q.limit,
          offset: q.offset,
        });
        return c.json(success(`${runs.length} runs`, runs), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/{run_id}",
        tags,
        summary: "One run with counters, progress and rollback details",
        request: { params: z.object({ run_id: idParam("run_id") }) },
        responses: {
          200: jsonResponse(envelopeOf(RunSchema), "Run"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) =>
        c.json(
          success("sync run", await getRun(pool, c.req.valid("param").run_id, clientScopeOf(c))),
          200,
        ),
    );
}
