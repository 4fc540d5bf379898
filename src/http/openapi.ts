import type { OpenAPIHono } from "@hono/zod-openapi";
import { stringify } from "yaml";
import { renderDocsPage } from "./docs-page.js";
import type { AppEnv } from "./env.js";
import { requires } from "./rights.js";

const INFO = {
  title: "athena-typesense-sync",
  version: "0.1.0",
  description:
    "Athena's Typesense routes and the control plane behind them. Every route except /health, " +
    "/ready, /openapi.* and /docs needs the static admin key or a gateway key " +
    "(ath_{public_id}.{secret}) in X-Athena-Key (also X-Athena-Admin-Key, X-API-Key, apikey, " +
    "Authorization: Bearer). Responses use the envelope {status, message, data?, error?}.",
};

/**
 * Registers the security schemes and serves the generated document as JSON
 * and YAML plus a browsable, dependency-free reference page at /docs.
 * Called last, so every route is already registered.
 */
export function mountOpenApi(app: OpenAPIHono<AppEnv>): void {
  const reg = app.openAPIRegistry;
  for (const [name, header] of [
    ["AthenaKey", "X-Athena-Key"],
    ["AthenaAdminKey", "X-Athena-Admin-Key"],
    ["ApiKeyHeader", "X-API-Key"],
    ["ApiKey", "apikey"],
  ] as const) {
    reg.registerComponent("securitySchemes", name, { type: "apiKey", in: "header", name: header });
  }
  reg.registerComponent("securitySchemes", "Bearer", { type: "http", scheme: "bearer" });

  let cached: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  const doc = () => {
    cached ??= app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: INFO,
      security: [
        { AthenaKey: [] },
        { AthenaAdminKey: [] },
        { ApiKeyHeader: [] },
        { ApiKey: [] },
        { Bearer: [] },
      ],
    });
    return cached;
  };
  app.get("/openapi.json", requires("public"), (c) => c.json(doc()));
  app.get("/openapi.yaml", requires("public"), (c) =>
    c.body(stringify(doc()), 200, { "content-type": "application/yaml; charset=utf-8" }),
  );
  app.get("/docs", requires("public"), (c) =>
    c.html(renderDocsPage(doc() as unknown as Record<string, unknown>)),
  );
}
