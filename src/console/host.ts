import type { Config } from "../config/schema.js";
import type { Pools } from "../db/pool.js";
import type { Logger } from "../lifecycle/logger.js";

/*
 * What the console needs of the app that mounts it. http/app.ts mounts the
 * console and passes its AppDeps and AppEnv, which fit these shapes; the
 * console does not import http/ (http sits above it: import-graph test).
 */

/** The dependencies the console reads (a subset of http/deps.ts's AppDeps). */
export interface ConsoleHostDeps {
  config: Config;
  log: Logger;
  pools: Pools;
}

/** The mounting app's Hono env as far as the console reads it (http/env.ts's AppEnv fits). */
export interface ConsoleHostEnv {
  Variables: {
    requestId: string;
    /** Request-scoped logger: every line carries reqId. */
    log: Logger;
  };
}
