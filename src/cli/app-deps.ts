import type { Config } from "../config/index.js";
import { createConsole } from "../console/index.js";
import { type AuthLogWriter, createAuthLogWriter } from "../control/auth-log-writer.js";
import { createSearchBindingCache } from "../control/search-binding.js";
import type { SecretBox } from "../control/secret-box.js";
import type { TypesenseClients } from "../control/typesense-clients.js";
import type { Pools } from "../db/index.js";
import { createGateway, createGatewayKeys } from "../gateway/index.js";
import type { AppDeps } from "../http/index.js";
import type { Logger } from "../lifecycle/index.js";
import type { Metrics } from "../metrics/index.js";

/** How long a search reuses a resolved job binding (SearchBindingCache; docs/api.md). */
const SEARCH_BINDING_TTL_MS = 2_000;

export interface AppDepsOptions {
  config: Config;
  log: Logger;
  pools: Pools;
  /** folder of sql/ migrations: /ready reports pending ones */
  migrationsDir: string;
  /**
   * The process's SecretBox and Typesense client cache (createBackendResolver):
   * the API and the console use these instances, the same the CDC streams and
   * the full-sync engine use. Its builder closes `clients`.
   */
  backends: { box: SecretBox; clients: TypesenseClients };
  metrics?: Metrics;
  /** Default: a writer on the control pool (serve passes its own: a service flushes it). */
  authLog?: AuthLogWriter;
  /** Extra /ready checks, name -> ok (serve: cli/readiness.ts). */
  readiness?: AppDeps["readiness"];
  /** serve: a manual run also runs in this instance when it has no sync worker. */
  onRunRequested?: AppDeps["onRunRequested"];
  /** serve: wakes this instance's audit service. */
  onAuditRequested?: AppDeps["onAuditRequested"];
  /** serve: the registry its CDC streams attach to (dead-letter retry writes through it). */
  watermarks?: AppDeps["watermarks"];
}

/**
 * The composition root of the HTTP API: every collaborator createApp uses is
 * built here, once, or passed in from the caller's shared parts. serve, and
 * the test fixtures (test/http/fixture.ts, test/console/stack.ts), build the
 * app through this function, so tests exercise the real wiring.
 *
 *   backends.box, backends.clients --> search bindings, console (facets), routes
 *   pools.control                  --> auth log writer (unless given), console
 *   box, clients, auth log         --> the search gateway (/typesense-api, its key cache)
 */
export function createAppDeps(o: AppDepsOptions): AppDeps {
  const { box, clients } = o.backends;
  const authLog = o.authLog ?? createAuthLogWriter({ pool: o.pools.control, log: o.log });
  const rate = o.config.gateway.rate_limit;
  const gateway = createGateway({
    keys: createGatewayKeys({ pool: o.pools.control, box, log: o.log }),
    clients,
    authLog,
    log: o.log,
    metrics: o.metrics,
    corsOrigins: o.config.gateway.cors_origins,
    rateLimit: rate.per_second > 0 ? { perSecond: rate.per_second, burst: rate.burst } : null,
    bodyLimitBytes: o.config.server.body_limit_bytes,
  });
  return {
    config: o.config,
    log: o.log,
    pools: o.pools,
    migrationsDir: o.migrationsDir,
    box,
    clients,
    bindings: createSearchBindingCache(o.pools.control, box, { ttlMs: SEARCH_BINDING_TTL_MS }),
    authLog,
    gateway,
    console: createConsole({ log: o.log, pools: o.pools, box, clients }),
    ...(o.metrics ? { metrics: o.metrics } : {}),
    ...(o.readiness ? { readiness: o.readiness } : {}),
    ...(o.onRunRequested ? { onRunRequested: o.onRunRequested } : {}),
    ...(o.onAuditRequested ? { onAuditRequested: o.onAuditRequested } : {}),
    ...(o.watermarks ? { watermarks: o.watermarks } : {}),
  };
}
