import type pg from "pg";
import { sleepUnlessAborted } from "../lifecycle/backoff.js";
import type { Logger } from "../lifecycle/logger.js";
import type { Service } from "../lifecycle/service.js";
import { pruneAuthLog } from "./auth-log.js";
import type { AuthLogWriter } from "./auth-log-writer.js";

export interface AuthLogServiceOptions {
  pool: pg.Pool;
  writer: AuthLogWriter;
  log: Logger;
  /** auth.auth_log_retention_days: rows whose last attempt is older are deleted. */
  retentionDays: number;
  /** Time between prunes, ms. Default one hour; the first prune runs at start. */
  pruneEveryMs?: number;
}

/**
 * The auth log's lifecycle as a Service: prunes old rows at start and then
 * every pruneEveryMs; on stop it writes what the writer still buffers.
 * Start it BEFORE the HTTP service: services stop in reverse order, so HTTP
 * has stopped taking requests when the final flush runs and no attempt
 * arrives after it.
 */
export function createAuthLogService(opts: AuthLogServiceOptions): Service & { stop(): void } {
  const every = opts.pruneEveryMs ?? 3_600_000;
  const ctl = new AbortController();
  return {
    name: "auth-log",
    stop: () => ctl.abort(),
    async run(outer) {
      const signal = AbortSignal.any([outer, ctl.signal]);
      do {
        try {
          const deleted = await pruneAuthLog(opts.pool, opts.retentionDays, { signal });
          if (deleted > 0) {
            opts.log.info({ component: "auth-log", deleted }, "auth log pruned");
          }
        } catch (e) {
          // a failed prune is retried next period; the log stays readable meanwhile
          opts.log.warn({ component: "auth-log", err: e }, "auth log prune failed");
        }
      } while (await sleepUnlessAborted(every, signal));
      await opts.writer.close();
    },
  };
}
