import { createRoute, z } from "@hono/zod-openapi";
import { listAuthLog } from "../../control/auth-log.js";
import type { AppDeps } from "../deps.js";
import { authErrors, envelopeOf, jsonResponse, success } from "../envelope.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";

const AuthLogRowSchema = z
  .object({
    id: z.string(),
    bucket_start: z.iso.datetime(),
    first_seen_at: z.iso.datetime(),
    last_seen_at: z.iso.datetime(),
    key_public_id: z.string(),
    method: z.string(),
    route: z.string(),
    right_needed: z.string(),
    outcome: z.enum(["refused", "allowed", "dropped"]),
    status: z.number(),
    reason: z.string(),
    client_addr: z.string(),
    attempts: z.number(),
  })
  .openapi("AuthLogRow");

const Query = z.object({
  outcome: z.enum(["refused", "allowed", "dropped"]).optional(),
  key_id: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ description: "a key's public id, or admin / none / *" }),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/, "must be the next_cursor of a previous page")
    .optional(),
});

/**
 * GET /admin/auth-log: the auth attempt log, newest rows first, static admin
 * key only (the /admin prefix is enforced by the auth middleware). Each row
 * aggregates the attempts of one minute with equal fields (`attempts`).
 */
export function authLogRoutes(deps: AppDeps) {
  const pool = deps.pools.control;
  return createRouter().openapi(
    createRoute({
      middleware: requires("admin"),
      method: "get",
      path: "/auth-log",
      tags: ["api-keys"],
      summary: "Refused auth attempts and admin-route calls, aggregated per minute",
      request: { query: Query },
      responses: {
        200: jsonResponse(
          envelopeOf(
            z.object({ rows: z.array(AuthLogRowSchema), next_cursor: z.string().nullable() }),
          ),
          "Rows, newest first; pass next_cursor as ?cursor= for the next page",
        ),
        ...authErrors,
      },
    }),
    async (c) => {
      const q = c.req.valid("query");
      const { rows, nextCursor } = await listAuthLog(pool, {
        outcome: q.outcome,
        keyId: q.key_id,
        since: q.since === undefined ? undefined : new Date(q.since),
        until: q.until === undefined ? undefined : new Date(q.until),
        before: q.cursor,
        limit: q.limit,
      });
      return c.json(
        success(`${rows.length} auth log rows`, { rows, next_cursor: nextCursor }),
        200,
      );
    },
  );
}
