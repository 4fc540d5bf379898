import { createHash, timingSafeEqual } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { type CdcStreamReadiness, cdcReadiness } from "../../control/cdc-readiness.js";
import { pendingMigrations } from "../../db/migrate.js";
import type { AppDeps } from "../deps.js";
import { ErrorEnvelopeSchema, envelopeOf, failure, jsonResponse, success } from "../envelope.js";
import { requires } from "../rights.js";
import { createRouter } from "../router.js";

const ReadySchema = z.object({
  checks: z.record(z.string(), z.boolean()),
  pending_migrations: z
    .array(z.string())
    .optional()
    .openapi({ description: "only with the admin key (X-Athena-Key)" }),
  cdc_streams: z
    .record(z.string(), z.string())
    .optional()
    .openapi({ description: "state of each CDC stream; only with the admin key" }),
});

const sha = (s: string) => createHash("sha256").update(s).digest();

/**
 * Whether the request carries the admin key in X-Athena-Key (digests compared
 * in constant time, as in auth.ts). /ready is public: without the key it
 * shows check names and states only, never migration file names.
 */
function hasAdminKey(header: string | undefined, adminKey: string): boolean {
  return header !== undefined && timingSafeEqual(sha(header), sha(adminKey));
}

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
        description:
          "Public. Without a key only the check names and states; with the admin key " +
          "(X-Athena-Key) also the names of pending migrations.",
        responses: {
          200: jsonResponse(envelopeOf(ReadySchema), "Ready"),
          503: jsonResponse(ErrorEnvelopeSchema, "Not ready; error lists the failing checks"),
        },
      }),
      async (c) => {
        const { cdc, postgres_clients } = deps.config;
        const [db, pending, extra, streams] = await Promise.all([
          probe(deps.pools.control.query("select 1")),
          probe(pendingMigrations(deps.pools.control, deps.migrationsDir)),
          deps.readiness ? probe(deps.readiness()) : Promise.resolve({}),
          cdc.enabled
            ? probe(
                cdcReadiness(deps.pools.control, {
                  clients: Object.keys(postgres_clients),
                  maxUnhealthyMs: cdc.ready_max_unhealthy_ms,
                }),
              )
            : Promise.resolve<Record<string, CdcStreamReadiness>>({}),
        ]);
        const checks: Record<string, boolean> = {
          control_db: db !== undefined,
          migrations: pending !== undefined && pending.length === 0,
          ...(extra ?? { readiness: false }),
          ...(streams === undefined
            ? { cdc_streams: false }
            : Object.fromEntries(Object.entries(streams).map(([k, v]) => [`cdc:${k}`, v.ready]))),
        };
        const detailed = hasAdminKey(c.req.header("x-athena-key"), deps.config.auth.admin_key);
        const states = Object.fromEntries(
          Object.entries(streams ?? {}).map(([k, v]) => [k, v.state]),
        );
        const body = detailed
          ? { checks, pending_migrations: pending ?? [], cdc_streams: states }
          : { checks };
        if (Object.values(checks).every(Boolean)) return c.json(success("ready", body), 200);
        return c.json(failure("NOT_READY", "not ready", body), 503);
      },
    );
}
