import { createRoute, z } from "@hono/zod-openapi";
import {
  createSearchKey,
  deleteSearchKey,
  getSearchKey,
  listSearchKeys,
  updateSearchKey,
} from "../../control/search-keys.js";
import type { AppDeps } from "../deps.js";
import { authErrors, envelopeOf, jsonResponse, notFoundError, success } from "../envelope.js";
import { invalidates } from "../invalidation.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";
import { jsonBody } from "../schemas/common.js";

const SearchKeySchema = z
  .object({
    id: z.uuid(),
    public_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    job_ids: z.array(z.uuid()),
    filter_by: z.string().nullable(),
    include_fields: z.string().nullable(),
    exclude_fields: z.string().nullable(),
    per_page_max: z.number().int().nullable(),
    limit_hits: z.number().int().nullable(),
    rate_per_second: z.number().nullable(),
    rate_burst: z.number().int().nullable(),
    is_active: z.boolean(),
    expires_at: z.iso.datetime().nullable(),
    last_used_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .openapi("SearchKey");

const fields = z
  .string()
  .trim()
  .min(1)
  .max(2000)
  .regex(/^[^$]*$/, "joins ($collection) are not allowed");
/** The columns a create or a patch may set (all optional here; create requires two). */
const Scope = {
  description: z.string().max(2000).nullish(),
  filter_by: z.string().trim().min(1).max(4000).nullish(),
  include_fields: fields.nullish(),
  exclude_fields: fields.nullish(),
  per_page_max: z.number().int().min(1).max(250).nullish(),
  limit_hits: z.number().int().min(1).nullish(),
  rate_per_second: z.number().positive().max(100_000).nullish(),
  rate_burst: z.number().int().min(1).max(1_000_000).nullish(),
};
const jobIds = z.array(z.uuid()).min(1).max(100);
const CreateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    job_ids: jobIds,
    ...Scope,
    expires_at: z.iso
      .datetime({ offset: true })
      .refine((v) => Date.parse(v) > Date.now(), "expires_at must be in the future")
      .nullish(),
  })
  .strict()
  .openapi("SearchKeyCreate");
const PatchBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    job_ids: jobIds.optional(),
    ...Scope,
    is_active: z.boolean().optional(),
    expires_at: z.iso.datetime({ offset: true }).nullish(),
  })
  .strict()
  .openapi("SearchKeyPatch");
const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

const tags = ["api-keys"];
const date = (v: string | null | undefined) => (v == null ? v : new Date(v));

/**
 * /admin/search-keys: the gateway's search keys (docs/gateway.md), beside
 * /admin/api-keys and with its rights (static admin key only). The token is
 * in the create answer and nowhere else; writes drop the verified keys
 * ("credentials"), so a deactivated or re-scoped key changes at once here.
 */
export function searchKeyRoutes(deps: AppDeps) {
  const pool = deps.pools.control;
  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("admin"),
        method: "get",
        path: "/search-keys",
        tags,
        summary: "List search keys with their scope (never a secret)",
        responses: {
          200: jsonResponse(envelopeOf(z.array(SearchKeySchema)), "Keys"),
          ...authErrors,
        },
      }),
      async (c) => {
        const keys = await listSearchKeys(pool);
        return c.json(success(`${keys.length} search keys`, keys), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: [requires("admin"), invalidates("credentials")],
        method: "post",
        path: "/search-keys",
        tags,
        summary: "Create a search key for /typesense-api; the key is shown once, in data.api_key",
        request: jsonBody(CreateBody),
        responses: {
          201: jsonResponse(
            envelopeOf(z.object({ key: SearchKeySchema, api_key: z.string() })),
            "Created; api_key (64 hex) cannot be retrieved again",
          ),
          ...authErrors,
        },
      }),
      async (c) => {
        const b = c.req.valid("json");
        const { key, token } = await createSearchKey(pool, deps.box, {
          ...b,
          expires_at: date(b.expires_at),
        });
        return c.json(
          success("search key created; store it now, it is not shown again", {
            key,
            api_key: token,
          }),
          201,
        );
      },
    )
    .openapi(
      createRoute({
        middleware: requires("admin"),
        method: "get",
        path: "/search-keys/{id}",
        tags,
        summary: "One search key",
        request: { params: IdParam },
        responses: {
          200: jsonResponse(envelopeOf(SearchKeySchema), "Key"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) =>
        c.json(success("search key", await getSearchKey(pool, c.req.valid("param").id)), 200),
    )
    .openapi(
      createRoute({
        middleware: [requires("admin"), invalidates("credentials")],
        method: "patch",
        path: "/search-keys/{id}",
        tags,
        summary: "Change a search key's scope, limits, active flag or expiry",
        request: { params: IdParam, ...jsonBody(PatchBody) },
        responses: {
          200: jsonResponse(envelopeOf(SearchKeySchema), "Updated"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) => {
        const b = c.req.valid("json");
        const key = await updateSearchKey(pool, c.req.valid("param").id, {
          ...b,
          expires_at: date(b.expires_at),
        });
        return c.json(success("search key updated", key), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: [requires("admin"), invalidates("credentials")],
        method: "delete",
        path: "/search-keys/{id}",
        tags,
        summary: "Delete a search key (it and every key minted from it stop working at once)",
        request: { params: IdParam },
        responses: {
          200: jsonResponse(envelopeOf(z.object({ id: z.string() })), "Deleted"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) => {
        const { id } = c.req.valid("param");
        await deleteSearchKey(pool, id);
        return c.json(success("search key deleted", { id }), 200);
      },
    );
}
