import { createRoute, z } from "@hono/zod-openapi";
import { pendingMigrations } from "../../db/migrate.js";
import type { AppDeps } from "../deps.js";
import { ErrorEnvelopeSchema, envelopeOf, failure, jsonResponse, success } from "../envelope.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";

const ReadySchema = z.object({
  checks: z.record(z.string(), z.boolean()),
  pending_migrations: z.array(z.string()),
});

/** How long /ready waits for one probe before counting it as failed. */
const PROBE_TIMEOUT_MS = 2_000;

async function probe<T>(p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Unauthenticated liveness and readiness probes (the auth middleware skips them). */
export function healthRoutes(deps: AppDeps) {
  return createRouter()
    .openapi(
      createRoute({
        middleware: requires("public"),
        method: "get",
        path: "/health",
        tags: ["health"],
        security: [],
        summary: "Liveness: the process is up",
        responses: { 200: jsonResponse(envelopeOf(z.object({ ok: z.literal(true) })), "Up") },
      }),
      (c) => c.json(success("ok", { ok: true as const }), 200),
    )
    .openapi(
      createRoute({
        middleware: requires("public"),
        method: "get",
        path: "/ready",
        tags: ["health"],
        security: [],
        summary: "Readiness: control DB reachable, migrations applied, extra probes ok",
        responses: {
          200: jsonResponse(envelopeOf(ReadySchema), "Ready"),
          503: jsonResponse(ErrorEnvelopeSchema, "Not ready; error lists the failing checks"),
        },
      }),
      async (c) => {
        const [db, pending, extra] = await Promise.all([
          probe(deps.pools.control.query("select 1")),
          probe(pendingMigrations(deps.pools.control, deps.migrationsDir)),
          deps.readiness ? probe(deps.readiness()) : Promise.resolve({}),
        ]);
        const checks: Record<string, boolean> = {
          control_db: db !== undefined,
          migrations: pending !== undefined && pending.length === 0,
          ...(extra ?? { readiness: false }),
        };
        const body = { checks, pending_migrations: pending ?? [] };
        if (Object.values(checks).every(Boolean)) return c.json(success("ready", body), 200);
        return c.json(failure("NOT_READY", "not ready", body), 503);
      },
    );
}
