import type { Config } from "../config/schema.js";
import type { ConsoleMount } from "../console/index.js";
import type { AuthLogWriter } from "../control/auth-log-writer.js";
import type { SearchBindingCache } from "../control/search-binding.js";
import type { SecretBox } from "../control/secret-box.js";
import type { TypesenseClients } from "../control/typesense-clients.js";
import type { WatermarkCoordinator } from "../coordination/watermarks.js";
import type { Pools } from "../db/pool.js";
import type { Gateway } from "../gateway/index.js";
import type { Logger } from "../lifecycle/logger.js";
import type { Metrics } from "../metrics/index.js";

/**
 * What the API is built from. Every collaborator here is built once, by the
 * composition root (cli/app-deps.ts createAppDeps), and shared with the rest
 * of the process; createApp constructs none of them (test/architecture).
 */
export interface AppDeps {
  config: Config;
  log: Logger;
  pools: Pools;
  /** folder of sql/ migrations: /ready reports pending ones */
  migrationsDir: string;
  /** extra readiness probes (e.g. CDC streams), name -> ok; optional */
  readiness?: () => Promise<Record<string, boolean>>;
  /**
   * Told after the run route queued (or re-opened) a run: serve hands it to
   * this instance's scheduler, which with `typesense.sync_worker_enabled:
   * false` is what executes it (scheduler/ runRequested). Optional: without
   * it, runs are only picked up by workers (poll + NOTIFY).
   */
  onRunRequested?: (jobId: string) => void;
  /** An audit was queued here (POST .../audit, after its commit): wakes this instance's audit service. */
  onAuditRequested?: (jobId: string) => void;
  /** When given: HTTP metrics are recorded and served on GET /metrics (authenticated). */
  metrics?: Metrics;
  /**
   * The watermark registry this instance's CDC streams attach to (serve): a
   * dead-letter retry of a streamed job is written through it (never older).
   */
  watermarks?: WatermarkCoordinator;
  /** Where refused attempts and admin calls are recorded. */
  authLog: AuthLogWriter;
  /** Seals and opens saved backends' API keys (security.encryption_key). */
  box: SecretBox;
  /** The process's Typesense client cache (shared with CDC and full sync; closed by its builder). */
  clients: TypesenseClients;
  /** Search resolves its job from memory for up to its ttl; the app invalidates it on writes. */
  bindings: SearchBindingCache;
  /**
   * The Typesense-compatible search gateway (src/gateway), mounted at
   * /typesense-api ahead of the API's own auth: it authenticates with search keys.
   */
  gateway?: Gateway;
  /** The operator console, mounted at /console. */
  console: ConsoleMount;
}
