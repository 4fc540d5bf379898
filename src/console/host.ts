import type { SecretBox } from "../control/secret-box.js";
import type { TypesenseClients } from "../control/typesense-clients.js";
import type { Pools } from "../db/pool.js";
import type { Logger } from "../lifecycle/logger.js";

/*
 * What the console needs of the process and of the app that mounts it. The
 * composition root (cli/app-deps.ts) builds the console from the process's
 * shared parts; http/app.ts mounts it, and its AppEnv fits ConsoleHostEnv.
 * The console does not import http/ (http sits above it: import-graph test).
 */

/** What createConsole is built from: the process's shared instances, never copies. */
export interface ConsoleHostDeps {
  log: Logger;
  pools: Pools;
  /** Opens saved backends' keys (the facet lookup resolves a search binding). */
  box: SecretBox;
  /** The process's Typesense client cache (the facet lookup reads collection schemas). */
  clients: TypesenseClients;
}

/** The mounting app's Hono env as far as the console reads it (http/env.ts's AppEnv fits). */
export interface ConsoleHostEnv {
  Variables: {
    requestId: string;
    /** Request-scoped logger: every line carries reqId. */
    log: Logger;
  };
}
