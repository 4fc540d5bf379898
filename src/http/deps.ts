import type { Config } from "../config/schema.js";
import type { AuthLogWriter } from "../control/auth-log-writer.js";
import type { WatermarkCoordinator } from "../coordination/watermarks.js";
import type { Pools } from "../db/pool.js";
import type { Logger } from "../lifecycle/logger.js";
import type { Metrics } from "../metrics/index.js";

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
  /** When given: HTTP metrics are recorded and served on GET /metrics (authenticated). */
  metrics?: Metrics;
  /**
   * The watermark registry this instance's CDC streams attach to (serve): a
   * dead-letter retry of a streamed job is written through it (never older).
   */
  watermarks?: WatermarkCoordinator;
  /** Where refused attempts and admin calls are recorded; default: a writer on the control pool. */
  authLog?: AuthLogWriter;
}
