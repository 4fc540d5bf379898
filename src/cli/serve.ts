import { createCdcSupervisor } from "../cdc/index.js";
import type { Config } from "../config/index.js";
import { createAuthLogService } from "../control/auth-log-retention.js";
import { createAuthLogWriter } from "../control/auth-log-writer.js";
import { createWatermarkRegistry } from "../coordination/index.js";
import { createPools, migrate, pendingMigrations } from "../db/index.js";
import { createAuditRunner } from "../fullsync/audit-run.js";
import { createRebuildDropService } from "../fullsync/index.js";
import { createApp, createHttpService } from "../http/index.js";
import {
  createLogger,
  runServices,
  type Service,
  signalOnTermination,
} from "../lifecycle/index.js";
import { cdcStreamMetrics } from "../metrics/cdc-observer.js";
import { createControlSampler } from "../metrics/control-sampler.js";
import { createMetrics } from "../metrics/index.js";
import { createAuditService, createScheduler } from "../scheduler/index.js";
import { createAppDeps } from "./app-deps.js";
import { readinessOf, serveProbes } from "./readiness.js";
import {
  closingService,
  createBackendResolver,
  createEngine,
  fullSyncGate,
  fullSyncWriteGate,
  instanceName,
  rebuildPauseOf,
  warnIfKeysUnencrypted,
} from "./wiring.js";

export interface ServeOptions {
  config: Config;
  sqlDir: string;
  /** Apply pending migrations before starting (advisory-locked, safe with several instances). */
  migrate: boolean;
  exit: (code: number) => void;
  /** Called with the HTTP URL once listening (demo prints it). */
  onListening?: (url: string) => void;
  /** Stop signal from the caller (demo); SIGTERM/SIGINT are always handled. */
  signal?: AbortSignal;
}

/**
 * `serve`: build every module from the config and run them as Services.
 * This is the composition root: the SecretBox, the Typesense client cache and
 * its live backends, the metrics, the readiness probes, the auth log and the
 * console are built once here (createBackendResolver, createAppDeps) and
 * passed to whoever uses them.
 *
 *   start order: auth log -> typesense clients -> http -> cdc supervisor
 *                -> scheduler -> metrics sampler
 *   stop order:  sampler -> scheduler -> cdc -> http -> typesense clients
 *                (closed: nothing uses them any more) -> auth log (its final
 *                flush), then pools close
 *
 * The scheduler stops before CDC so a full-sync window bracketed by
 * watermarks can still be written by its stream and checkpointed. HTTP stops
 * last so /health keeps answering while workers checkpoint (its handlers only
 * queue runs and hand them to the scheduler, which starts nothing once stopped).
 */
export async function runServe(opts: ServeOptions): Promise<number> {
  const { config } = opts;
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty });
  const closers: (() => Promise<void>)[] = [];
  const pools = createPools({
    controlUrl: config.control_database_url,
    clients: config.postgres_clients,
    log,
  });
  try {
    if (opts.migrate) {
      await migrate({ pool: pools.control, dir: opts.sqlDir, log });
    } else {
      const pending = await pendingMigrations(pools.control, opts.sqlDir);
      if (pending.length > 0) {
        log.error({ component: "serve", pending }, "pending migrations; run `migrate` first");
        await pools.close();
        return 2;
      }
    }
    warnIfKeysUnencrypted(config, log);
    const metrics = createMetrics();
    const owner = instanceName();
    // the process's SecretBox, client cache and live backends: API, console and write paths share them
    const backends = createBackendResolver({ config, pools, log });
    const { backendFor, clients } = backends;
    // One registry shared by the CDC streams and the full-sync engine: while
    // this instance streams a job, its full-sync windows are bracketed by
    // watermarks (src/fullsync/watermarked.ts).
    const watermarks = createWatermarkRegistry();
    const cdc = createCdcSupervisor({
      control: pools.control,
      pools,
      cdc: config.cdc,
      backendFor,
      watermarks,
      log,
      instanceId: owner,
      metricsFor: (client) => cdcStreamMetrics(metrics, client),
    });
    const mayRunFullSyncs = (client: string) => cdc.mayRunFullSyncs(client);
    const engine = createEngine({
      config,
      pools,
      log,
      owner,
      backendFor,
      watermarks,
      // a run in flight stops before its next window once the leadership moved
      mayRun: fullSyncWriteGate(config.cdc.enabled, mayRunFullSyncs),
    });
    const authLog = createAuthLogWriter({ pool: pools.control, log });
    const scheduler = createScheduler({
      control: pools.control,
      engine,
      log,
      enabled: config.typesense.sync_worker_enabled,
      pollMs: config.typesense.sync_worker_poll_ms,
      maxConcurrentRuns: config.fullsync.max_concurrent_runs,
      // With CDC, only the instance leading a source client's stream runs
      // that client's full syncs (DESIGN section 5), and only once that
      // stream is set up (its slot exists); other clients run anywhere.
      canRun: fullSyncGate(config.cdc.enabled, mayRunFullSyncs),
    });
    // drift audits (docs/audit.md): a CDC job's only where its stream's watermarks bracket the repair
    const audits = createAuditService({
      runner: createAuditRunner({
        control: pools.control,
        source: (name) => pools.source(name),
        backendFor,
        watermarks,
        owner,
        log,
        mayAudit: fullSyncWriteGate(config.cdc.enabled, mayRunFullSyncs),
        // no sync worker here: no scheduled audits either, requested ones still run
        scheduled: config.typesense.sync_worker_enabled,
      }),
      log,
      pollMs: config.typesense.sync_worker_poll_ms,
    });
    const termination = signalOnTermination(log, opts.exit);
    const signal = opts.signal ? AbortSignal.any([termination, opts.signal]) : termination;
    const app = createApp(
      createAppDeps({
        config,
        log,
        pools,
        migrationsDir: opts.sqlDir,
        backends,
        metrics,
        authLog,
        readiness: readinessOf(serveProbes({ signal })),
        // a manual run also runs here when this instance has no sync worker
        onRunRequested: (jobId) => scheduler.runRequested(jobId),
        onAuditRequested: () => audits.auditRequested(),
        watermarks,
      }),
    );
    // a backstop when startup fails before the services run (close is idempotent)
    closers.push(() => clients.close());
    const services: Service[] = [
      // first, so it stops last: its final flush runs after HTTP stopped
      createAuthLogService({
        pool: pools.control,
        writer: authLog,
        log,
        retentionDays: config.auth.auth_log_retention_days,
      }),
      // stops right after HTTP, the last of its users
      closingService("typesense-clients", () => clients.close()),
      createHttpService({
        app,
        host: config.server.host,
        port: config.server.port,
        log,
        drainTimeoutMs: config.shutdown.drain_timeout_ms,
        ...(opts.onListening ? { onListening: opts.onListening } : {}),
      }),
      cdc,
      scheduler,
      audits,
      // previous versions of finished rebuilds, once their keep period ended
      // and orphan __v collections nothing holds (one timer for both)
      createRebuildDropService({
        control: pools.control,
        backendFor,
        log,
        everyMs: config.fullsync.rebuild_sweep_interval_ms,
        onDropped: (kind) => metrics.rebuildDrops.inc({ kind }),
        ...rebuildPauseOf(config, log),
      }),
      createControlSampler({ control: pools.control, metrics, log }),
    ];
    const { failed, timedOut } = await runServices(services, {
      log,
      signal,
      drainTimeoutMs: config.shutdown.drain_timeout_ms,
    });
    log.info({ component: "serve", failed: failed?.message, timedOut }, "stopped");
    return failed || timedOut.length > 0 ? 1 : 0;
  } finally {
    for (const close of closers) await close();
    await pools.close();
    log.flush();
  }
}
