import { createRoute, z } from "@hono/zod-openapi";
import {
  createApiKey,
  deleteApiKey,
  getApiKey,
  listApiKeys,
  listRights,
  updateApiKey,
} from "../../control/api-keys.js";
import type { AppDeps } from "../deps.js";
import { authErrors, envelopeOf, jsonResponse, notFoundError, success } from "../envelope.js";
import { invalidates } from "../invalidation.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";
import { jsonBody } from "../schemas/common.js";

const ApiKeySchema = z
  .object({
    id: z.uuid(),
    public_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    client_name: z.string().nullable(),
    is_active: z.boolean(),
    expires_at: z.iso.datetime().nullable(),
    last_used_at: z.iso.datetime().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    rights: z.array(z.string()),
  })
  .openapi("ApiKey");

const rightName = z.string().min(1).max(100);
const CreateBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).nullish(),
    client_name: z.string().trim().min(1).max(200).nullish(),
    // a new key that is expired at birth is a mistake (a typo in the year, a UTC mix-up);
    // PATCH may still set a past time: that expires an existing key at once
    expires_at: z.iso
      .datetime({ offset: true })
      .refine((v) => Date.parse(v) > Date.now(), "expires_at must be in the future")
      .nullish(),
    rights: z.array(rightName).max(50).default(["gateway.typesense_proxy"]),
  })
  .strict()
  .openapi("ApiKeyCreate");
const PatchBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2000).nullish(),
    client_name: z.string().trim().min(1).max(200).nullish(),
    is_active: z.boolean().optional(),
    expires_at: z.iso.datetime({ offset: true }).nullish(),
    rights: z.array(rightName).max(50).optional(),
  })
  .strict()
  .openapi("ApiKeyPatch");
const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

const tags = ["api-keys"];
const date = (v: string | null | undefined) => (v == null ? v : new Date(v));

/** /admin/api-keys: static admin key only (enforced by the auth middleware). */
export function apiKeyRoutes(deps: AppDeps) {
  const pool = deps.pools.control;
  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("admin"),
        method: "get",
        path: "/api-keys",
        tags,
        summary: "List API keys with their rights (no secrets, salts or hashes)",
        responses: {
          200: jsonResponse(envelopeOf(z.array(ApiKeySchema)), "Keys"),
          ...authErrors,
        },
      }),
      async (c) => {
        const keys = await listApiKeys(pool);
        return c.json(success(`${keys.length} API keys`, keys), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: requires("admin"),
        method: "get",
        path: "/api-key-rights",
        tags,
        summary: "List the rights that can be granted",
        responses: {
          200: jsonResponse(
            envelopeOf(z.array(z.object({ name: z.string(), description: z.string() }))),
            "Rights",
          ),
          ...authErrors,
        },
      }),
      async (c) => c.json(success("API key rights", await listRights(pool)), 200),
    )
    .openapi(
      createRoute({
        middleware: [requires("admin"), invalidates("credentials")],
        method: "post",
        path: "/api-keys",
        tags,
        summary: "Create a gateway key; the secret is shown once, in data.api_key",
        request: jsonBody(CreateBody),
        responses: {
          201: jsonResponse(
            envelopeOf(z.object({ key: ApiKeySchema, api_key: z.string() })),
            "Created; api_key is ath_{public_id}.{secret} and cannot be retrieved again",
          ),
          ...authErrors,
        },
      }),
      async (c) => {
        const b = c.req.valid("json");
        const { key, token } = await createApiKey(pool, { ...b, expires_at: date(b.expires_at) });
        return c.json(
          success("API key created; store it now, it is not shown again", { key, api_key: token }),
          201,
        );
      },
    )
    .openapi(
      createRoute({
        middleware: requires("admin"),
        method: "get",
        path: "/api-keys/{id}",
        tags,
        summary: "One API key",
        request: { params: IdParam },
        responses: {
          200: jsonResponse(envelopeOf(ApiKeySchema), "Key"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) => c.json(success("API key", await getApiKey(pool, c.req.valid("param").id)), 200),
    )
    .openapi(
      createRoute({
        middleware: [requires("admin"), invalidates("credentials")],
        method: "patch",
        path: "/api-keys/{id}",
        tags,
        summary: "Change name, description, client binding, active flag, expiry or rights",
        request: {
          params: IdParam,
          ...jsonBody(PatchBody),
        },
        responses: {
          200: jsonResponse(envelopeOf(ApiKeySchema), "Updated"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) => {
        const b = c.req.valid("json");
        const key = await updateApiKey(pool, c.req.valid("param").id, {
          ...b,
          expires_at: date(b.expires_at),
        });
        return c.json(success("API key updated", key), 200);
      },
    )
    .openapi(
      createRoute({
        middleware: [requires("admin"), invalidates("credentials")],
        method: "delete",
        path: "/api-keys/{id}",
        tags,
        summary: "Delete a key (it stops working at once)",
        request: { params: IdParam },
        responses: {
          200: jsonResponse(envelopeOf(z.object({ id: z.string() })), "Deleted"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) => {
        const { id } = c.req.valid("param");
        await deleteApiKey(pool, id);
        return c.json(success("API key deleted", { id }), 200);
      },
    );
}
