import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import {
  type BackendPolicy,
  createBackend,
  deleteBackend,
  getBackend,
  listBackends,
  updateBackend,
} from "../../control/backends.js";
import type { AppDeps } from "../deps.js";
import type { AppEnv } from "../env.js";
import {
  authErrors,
  conflictError,
  envelopeOf,
  jsonResponse,
  notFoundError,
  success,
} from "../envelope.js";
import { ApiError } from "../errors.js";
import { invalidates } from "../invalidation.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";
import { BackendCreate, BackendPatch, BackendSchema } from "../schemas/backends.js";
import { idParam, jsonBody as json } from "../schemas/common.js";
import { clientScopeOf } from "../scope.js";

const tags = ["backends"];
const Id = z.object({ backend_id: idParam("backend_id") });

/**
 * Saved backends are shared by every client's jobs, so a client-bound key may
 * read and test them but never create, change or delete one: it could point
 * a backend other clients' jobs use at its own host and receive their
 * documents. Route middleware, so it runs before the body is validated, and for
 * an unknown id too (the answer tells nothing about which ids exist).
 */
const sharedBackendWrite: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (clientScopeOf(c) !== null) {
    throw new ApiError(
      "SHARED_BACKEND_READ_ONLY",
      "client-bound keys cannot change shared backends",
    );
  }
  await next();
};
const BOUND_403 = "A client-bound key gets 403 `client-bound keys cannot change shared backends`.";

/**
 * /typesense/backends: saved Typesense backends. The API key is sealed by the
 * policy's SecretBox before it reaches SQL and is never returned (only
 * api_key_last4). POST /test lives in typesense-ops.ts (seed route).
 */
export function backendRoutes(deps: AppDeps, policy: BackendPolicy) {
  const pool = deps.pools.control;
  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/",
        tags,
        summary: "List backends",
        responses: {
          200: jsonResponse(envelopeOf(z.array(BackendSchema)), "Backends"),
          ...authErrors,
        },
      }),
      async (c) => {
        const rows = await listBackends(pool);
        return c.json(success(`${rows.length} backends`, rows), 200);
      },
    )
    .openapi(
      createRoute({
        method: "post",
        path: "/",
        tags,
        summary: "Save a backend (API key encrypted at rest when an encryption key is set)",
        description: BOUND_403,
        middleware: [
          requires("gateway.typesense_proxy"),
          sharedBackendWrite,
          invalidates("bindings"),
        ],
        request: json(BackendCreate),
        responses: {
          201: jsonResponse(envelopeOf(BackendSchema), "Created"),
          ...authErrors,
          ...conflictError,
        },
      }),
      async (c) =>
        c.json(
          success("backend created", await createBackend(pool, policy, c.req.valid("json"))),
          201,
        ),
    )
    .openapi(
      createRoute({
        middleware: requires("gateway.typesense_proxy"),
        method: "get",
        path: "/{backend_id}",
        tags,
        summary: "One backend",
        request: { params: Id },
        responses: {
          200: jsonResponse(envelopeOf(BackendSchema), "Backend"),
          ...authErrors,
          ...notFoundError,
        },
      }),
      async (c) =>
        c.json(success("backend", await getBackend(pool, c.req.valid("param").backend_id)), 200),
    )
    .openapi(
      createRoute({
        method: "patch",
        path: "/{backend_id}",
        tags,
        summary: "Update a backend; a new api_key replaces the stored one",
        description:
          "A change of base_url or additional_node_urls must carry api_key (400 `api_key is " +
          "required when the address changes`): a saved key never leaves for a new host. " +
          BOUND_403,
        middleware: [
          requires("gateway.typesense_proxy"),
          sharedBackendWrite,
          invalidates("bindings"),
        ],
        request: { params: Id, ...json(BackendPatch) },
        responses: {
          200: jsonResponse(envelopeOf(BackendSchema), "Updated"),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
        },
      }),
      async (c) => {
        const row = await updateBackend(
          pool,
          policy,
          c.req.valid("param").backend_id,
          c.req.valid("json"),
        );
        return c.json(success("backend updated", row), 200);
      },
    )
    .openapi(
      createRoute({
        method: "delete",
        path: "/{backend_id}",
        tags,
        summary: "Delete a backend (409 while sync jobs use it)",
        description: BOUND_403,
        middleware: [
          requires("gateway.typesense_proxy"),
          sharedBackendWrite,
          invalidates("bindings"),
        ],
        request: { params: Id },
        responses: {
          200: jsonResponse(envelopeOf(z.object({ id: z.string() })), "Deleted"),
          ...authErrors,
          ...notFoundError,
          ...conflictError,
        },
      }),
      async (c) => {
        const id = c.req.valid("param").backend_id;
        await deleteBackend(pool, id);
        return c.json(success("backend deleted", { id }), 200);
      },
    );
}
