import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Config } from "../config/index.js";
import { backendConnection } from "../control/backends.js";
import { createLiveBackend } from "../control/live-backend.js";
import { createSecretBox, type SecretBox } from "../control/secret-box.js";
import {
  connectionVersion,
  createTypesenseClients,
  type TypesenseClients,
} from "../control/typesense-clients.js";
import type { Pools } from "../db/index.js";
import {
  createFullSyncEngine,
  type FullSyncEngine,
  type FullSyncEngineOptions,
  type RebuildPause,
  type RebuildPausePoint,
} from "../fullsync/index.js";
import type { Logger, Service } from "../lifecycle/index.js";
import type { TypesenseBackend } from "../typesense/index.js";

/** A name for this process in leases and stream leadership: host, pid and a random tag. */
export function instanceName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/**
 * The process's SecretBox and Typesense client cache, and its live backends.
 * Built once per process (serve, sync run) and shared: the API, the console
 * and the write paths get these instances (cli/app-deps.ts), and whoever
 * built them closes `clients` on the way out.
 *
 * Typesense backend of a saved profile, API key decrypted, one client per
 * profile version (URL, key, nodes or timeout change -> new client, old one
 * closed when its calls are done). backendFor returns one live backend per
 * profile that re-reads the profile at most every `refreshMs` (default 2 s),
 * so running CDC streams and full syncs follow an edited backend without a
 * restart (control/live-backend.ts; docs/operations.md).
 */
export function createBackendResolver(deps: {
  config: Config;
  pools: Pools;
  log: Logger;
  refreshMs?: number;
}): {
  backendFor: (profileId: string) => Promise<TypesenseBackend>;
  box: SecretBox;
  clients: TypesenseClients;
} {
  const box = createSecretBox(deps.config.security.encryption_key);
  const clients = createTypesenseClients(deps.log);
  const live = new Map<string, TypesenseBackend>();
  const load = async (profileId: string) => {
    const conn = await backendConnection(deps.pools.control, box, profileId);
    return { version: connectionVersion(conn), conn };
  };
  return {
    box,
    clients,
    async backendFor(profileId) {
      const known = live.get(profileId);
      if (known) return known;
      // the first read happens here: an unknown profile fails at once, as before
      const initial = await load(profileId);
      const b =
        live.get(profileId) ??
        createLiveBackend({
          profileId,
          initial,
          load: () => load(profileId),
          clients,
          refreshMs: deps.refreshMs ?? 2000,
          log: deps.log,
        });
      live.set(profileId, b);
      return b;
    },
  };
}

/**
 * Without security.encryption_key, saved backends' Typesense API keys are
 * stored as `plain:<key>` in the control DB (control/secret-box.ts). That is
 * allowed (the demo, a trusted DB) but must not go unnoticed: serve says so
 * once, at startup. The key itself is never logged.
 */
export function warnIfKeysUnencrypted(config: Config, log: Logger): void {
  if (config.security.encryption_key !== "") return;
  log.warn(
    { component: "serve", setting: "security.encryption_key" },
    "backend API keys are stored unencrypted: security.encryption_key is not set " +
      "(set ATHENA_ENCRYPTION_KEY to 64 hex chars; keys saved without it stay plain until their api_key is saved again)",
  );
}

/**
 * The scheduler's canRun in serve: with CDC enabled, a job whose source client
 * has CDC jobs runs only on the instance leading that client's stream, once
 * that stream is set up (CdcSupervisor.mayRunFullSyncs: its windows are then
 * bracketed by watermarks); other clients' jobs run anywhere.
 */
export function fullSyncGate(
  cdcEnabled: boolean,
  mayRun: (clientName: string) => boolean,
): (job: { sourceClientName: string; clientHasCdc: boolean }) => boolean {
  return (job) => !cdcEnabled || !job.clientHasCdc || mayRun(job.sourceClientName);
}

/**
 * The engine's per-window check (FullSyncEngineOptions.mayRun): a CDC job's
 * windows are written only while this instance may run the client's full
 * syncs; when the leadership moves, the run stops and the new leader resumes it.
 */
export function fullSyncWriteGate(
  cdcEnabled: boolean,
  mayRun: (clientName: string) => boolean,
): (job: { sourceClientName: string; cdcEnabled: boolean }) => boolean {
  return (job) => !cdcEnabled || !job.cdcEnabled || mayRun(job.sourceClientName);
}

export function createEngine(deps: {
  config: Config;
  pools: Pools;
  log: Logger;
  owner: string;
  backendFor: (profileId: string) => Promise<TypesenseBackend>;
  /** Shared with the CDC supervisor: watermarked windows while a job streams here. */
  watermarks?: FullSyncEngineOptions["watermarks"];
  /** Progress hook (the `sync run` command draws its bar from it). */
  onWindowCommitted?: FullSyncEngineOptions["onWindowCommitted"];
  /** Per-window check (see fullSyncWriteGate). */
  mayRun?: FullSyncEngineOptions["mayRun"];
}): FullSyncEngine {
  const { config } = deps;
  return createFullSyncEngine({
    control: deps.pools.control,
    source: (name) => deps.pools.source(name),
    backendFor: deps.backendFor,
    owner: deps.owner,
    log: deps.log,
    importMaxAttempts: config.typesense.import_max_attempts,
    importRetryBaseMs: config.typesense.import_retry_base_ms,
    sagaBackupEnabled: config.typesense.sync_saga_backup_enabled,
    leaseTtlMs: config.fullsync.lease_ttl_ms,
    contentHashes: config.fullsync.content_hashes,
    ...(deps.onWindowCommitted ? { onWindowCommitted: deps.onWindowCommitted } : {}),
    ...(deps.watermarks ? { watermarks: deps.watermarks } : {}),
    ...(deps.mayRun ? { mayRun: deps.mayRun } : {}),
    ...rebuildPauseOf(config, deps.log),
  });
}

/**
 * The test pauses of config testing.rebuild_pause_at (job id -> point): at its
 * point a job's rebuild logs "rebuild paused" and never goes on (the crash
 * test SIGKILLs the process there). Empty (always in production): no hook.
 */
export function rebuildPauseOf(config: Config, log: Logger): { rebuildPause?: RebuildPause } {
  const at: Record<string, RebuildPausePoint> = config.testing.rebuild_pause_at;
  if (Object.keys(at).length === 0) return {};
  return {
    rebuildPause: async (point, jobId) => {
      if (at[jobId] !== point) return;
      log.warn({ component: "rebuild", point, jobId }, "rebuild paused (testing.rebuild_pause_at)");
      await new Promise<never>(() => {});
    },
  };
}

/**
 * A Service that holds a shared resource and closes it when stopped. Placed in
 * serve's service list, it closes the resource at its place in the stop
 * order: after every service listed after it (the ones that use it) stopped.
 */
export function closingService(name: string, close: () => Promise<void>): Service {
  return {
    name,
    async run(signal) {
      if (!signal.aborted) {
        await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
      }
      await close();
    },
  };
}
