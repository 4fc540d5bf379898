import { setMaxListeners } from "node:events";
import type pg from "pg";
import type { Config } from "../config/index.js";
import {
  JobNotFoundError,
  RunConflictError,
  requestJoinResync,
} from "../coordination/request-run.js";
import { createWatermarkRegistry, type WatermarkRegistry } from "../coordination/watermarks.js";
import type { Pools } from "../db/index.js";
import { cdcClientNames, pendingJoinResyncs } from "../db/repositories/cdc-jobs.js";
import { linkedAbort } from "../lifecycle/abort.js";
import { sleepUnlessAborted } from "../lifecycle/backoff.js";
import type { Logger } from "../lifecycle/logger.js";
import type { Service } from "../lifecycle/service.js";
import { errorMessage } from "./errors.js";
import { runWhileLeader } from "./leader.js";
import { type CdcStreamMetrics, type CdcStreamOptions, createCdcStream } from "./stream.js";
import type { CdcBackend } from "./writer.js";

export interface CdcSupervisorOptions {
  control: pg.Pool;
  /** Source pools and URLs by client name (db/ Pools). */
  pools: Pick<Pools, "source" | "sourceUrl" | "sourceNames">;
  /** The `cdc:` section of the config; `enabled: false` makes the supervisor idle. */
  cdc: Config["cdc"];
  /** Typesense backend of a profile (main.ts decrypts the key and builds it). */
  backendFor(profileId: string): Promise<CdcBackend>;
  /** Shared with the full-sync engine for watermarked windows. Default: a new registry. */
  watermarks?: WatermarkRegistry;
  log: Logger;
  /** This instance's name (leader_instance in typesense_cdc_streams). */
  instanceId: string;
  /** How often the set of source clients with CDC jobs is re-read, ms. Default 5000. */
  pollMs?: number;
  /** Standby retry interval for leadership, ms. Default 2000. */
  leaderPollMs?: number;
  /** Metrics hooks of a client's stream (serve: metrics/cdc-observer.ts). */
  metricsFor?: (clientName: string) => CdcStreamMetrics;
  /** Test hooks and tuning passed to every stream. */
  streamOptions?: Partial<
    Pick<
      CdcStreamOptions,
      | "jobsPollMs"
      | "statsIntervalMs"
      | "keepaliveMs"
      | "watchdogMs"
      | "backoff"
      | "requestResync"
      | "onCheckpoint"
      | "onSessionFailed"
    >
  >;
}

export interface CdcSupervisor extends Service {
  /** Whether this instance holds the leadership lock of `clientName` now. */
  isLeader(clientName: string): boolean;
  /**
   * Whether this instance may run `clientName`'s full syncs now: it leads the
   * client AND its stream has finished its first setup of this leadership
   * term (attached to the watermark registry, or failed). Until then the slot
   * may not exist yet: rows a full sync read then could miss changes made
   * before the slot, and the resync the new slot requests would find the
   * run's lease taken. So the scheduler's gate (serve) uses this, not isLeader.
   */
  mayRunFullSyncs(clientName: string): boolean;
  readonly watermarks: WatermarkRegistry;
}

/**
 * Runs one CDC stream per source client that has enabled, cdc_enabled jobs,
 * each under leadership (an advisory lock per client in the control DB): on
 * several instances, exactly one streams a client, the others stand by and
 * take over when it dies. Clients are re-read every pollMs; a client whose
 * last CDC job went away has its stream stopped.
 */
export function createCdcSupervisor(opts: CdcSupervisorOptions): CdcSupervisor {
  const log = opts.log.child({ component: "cdc-supervisor" });
  const watermarks = opts.watermarks ?? createWatermarkRegistry();
  const leading = new Set<string>();
  // leading clients whose stream finished its first setup of this term
  const settled = new Set<string>();
  const running = new Map<string, { ctl: AbortController; done: Promise<void> }>();
  const unknownReported = new Set<string>();
  // jobs whose resync request found a run holding the lease (logged once)
  const blocked = new Set<string>();

  const requestResync = (jobId: string) => requestResyncOnce(opts.control, log, blocked, jobId);

  /**
   * Pending join resyncs of the CDC jobs of the clients this instance leads now.
   * A parked job's marker waits: its backend refuses writes, so its resync
   * runs once it is unparked and has joined the stream again.
   */
  async function pendingResyncs(): Promise<string[]> {
    if (leading.size === 0) return [];
    return pendingJoinResyncs(opts.control, [...leading]);
  }

  const sup: Supervision = { opts, log, watermarks, leading, settled, running, requestResync };
  const start = (client: string, outer: AbortSignal) => startStream(sup, client, outer);

  return {
    name: "cdc",
    watermarks,
    isLeader: (client) => leading.has(client),
    mayRunFullSyncs: (client) => leading.has(client) && settled.has(client),
    async run(signal) {
      if (!opts.cdc.enabled) {
        log.info("CDC disabled (cdc.enabled: false)");
        await sleepUnlessAborted(2 ** 31 - 1, signal);
        return;
      }
      const configured = new Set(opts.pools.sourceNames());
      // Every stream links one abort listener to this signal: the supervisor's own (not the
      // caller's), allowed one per configured client plus the poll's, so 10+ CDC clients are
      // no "possible EventTarget memory leak" warning (the listeners are bounded by the config).
      const { ctl: own, unlink } = linkedAbort(signal);
      setMaxListeners(configured.size + 10, own.signal);
      try {
        while (!own.signal.aborted) {
          try {
            await reconcile(sup, configured, unknownReported, pendingResyncs, start, own.signal);
          } catch (e) {
            log.warn({ err: { message: errorMessage(e) } }, "cannot read CDC jobs");
          }
          await sleepUnlessAborted(opts.pollMs ?? 5000, own.signal);
        }
      } finally {
        unlink();
      }
      // drain: every stream flushes, checkpoints and releases its slot and lock
      await Promise.all([...running.values()].map((r) => r.done));
      running.clear();
    },
  };
}

/** What the supervisor's streams share (one per supervisor). */
interface Supervision {
  opts: CdcSupervisorOptions;
  log: Logger;
  watermarks: WatermarkRegistry;
  /** Clients this instance leads now. */
  leading: Set<string>;
  /** Leading clients whose stream finished its first setup of this term. */
  settled: Set<string>;
  running: Map<string, { ctl: AbortController; done: Promise<void> }>;
  requestResync(jobId: string): Promise<void>;
}

/**
 * A new slot (or a job joining the stream) needs a full run that reads every
 * row after the slot exists. The need is durable: the stream's setup records
 * it (typesense_sync_jobs.cdc_resync_requested_at) before it marks the job
 * joined, and requestJoinResync clears it only in the transaction that queues
 * a run started after the join (an older unfinished run is cancelled, never
 * resumed for it). A run holding the lease now began before the join, so the
 * request stays pending and pendingResyncs() asks again every poll, on
 * whichever instance leads the client then, also after a restart.
 */
async function requestResyncOnce(
  control: pg.Pool,
  log: Logger,
  blockedReported: Set<string>,
  jobId: string,
): Promise<void> {
  try {
    const r = await requestJoinResync(control, jobId);
    blockedReported.delete(jobId);
    if (r?.disposition === "queued") log.info({ jobId, runId: r.runId }, "resync run queued");
  } catch (e) {
    if (e instanceof JobNotFoundError) {
      blockedReported.delete(jobId);
    } else if (e instanceof RunConflictError) {
      if (!blockedReported.has(jobId)) {
        log.info({ jobId }, "a run holds the job; its resync is requested again after it");
      }
      blockedReported.add(jobId);
    } else {
      throw e;
    }
  }
}

function startStream(sup: Supervision, client: string, outer: AbortSignal): void {
  const { opts, log, watermarks, leading, settled, running, requestResync } = sup;
  const { ctl, unlink } = linkedAbort(outer);
  const stream = createCdcStream({
    clientName: client,
    control: opts.control,
    source: opts.pools.source(client),
    sourceUrl: opts.pools.sourceUrl(client),
    cdc: opts.cdc,
    backendFor: opts.backendFor,
    // attach() is the end of a successful setup: slot and publication exist,
    // resyncs of joining jobs are requested
    watermarks: onAttach(watermarks, () => {
      if (leading.has(client)) settled.add(client);
    }),
    log: opts.log,
    instanceId: opts.instanceId,
    requestResync,
    ...(opts.metricsFor ? { metrics: opts.metricsFor(client) } : {}),
    ...opts.streamOptions,
    onSessionFailed: (e) => {
      // a stream that cannot be set up must not stop this client's full
      // syncs: they run unbracketed (direct writes), as without CDC
      if (leading.has(client)) settled.add(client);
      opts.streamOptions?.onSessionFailed?.(e);
    },
  });
  const done = runWhileLeader(
    {
      control: opts.control,
      clientName: client,
      log: opts.log,
      standbyPollMs: opts.leaderPollMs,
    },
    ctl.signal,
    async (leaderSignal) => {
      leading.add(client);
      try {
        await stream.run(leaderSignal);
      } finally {
        leading.delete(client);
        settled.delete(client);
      }
    },
  )
    .catch((e: unknown) =>
      log.error({ client, err: { message: errorMessage(e) } }, "stream failed"),
    )
    .finally(unlink);
  running.set(client, { ctl, done });
}

/**
 * One poll: a stream for every configured client with CDC jobs, the pending
 * join resyncs requested again, the streams of clients without jobs stopped.
 */
async function reconcile(
  sup: Supervision,
  configured: ReadonlySet<string>,
  unknownReported: Set<string>,
  pendingResyncs: () => Promise<string[]>,
  start: (client: string, outer: AbortSignal) => void,
  signal: AbortSignal,
): Promise<void> {
  const { opts, log, running, requestResync } = sup;
  const wanted = new Set(await cdcClientNames(opts.control));
  for (const client of wanted) {
    if (running.has(client)) continue;
    if (!configured.has(client)) {
      if (!unknownReported.has(client)) {
        log.error({ client }, "CDC jobs name a source client missing from postgres_clients");
        unknownReported.add(client);
      }
      continue;
    }
    if (!signal.aborted) start(client, signal);
  }
  for (const jobId of await pendingResyncs()) {
    await requestResync(jobId).catch((e: unknown) =>
      log.warn({ jobId, err: { message: errorMessage(e) } }, "cannot request a resync"),
    );
  }
  for (const [client, r] of running) {
    if (wanted.has(client)) continue;
    log.info({ client }, "no CDC jobs left for this source client; stopping its stream");
    r.ctl.abort();
    await r.done;
    running.delete(client);
  }
}

/** The registry, with `onAttached` called right after every stream attaches. */
function onAttach(registry: WatermarkRegistry, onAttached: () => void): WatermarkRegistry {
  return {
    isStreaming: (jobId) => registry.isStreaming(jobId),
    openWindow: (jobId, ids) => registry.openWindow(jobId, ids),
    watchChanges: (jobId) => registry.watchChanges(jobId),
    attach: (stream) => {
      const detach = registry.attach(stream);
      onAttached();
      return detach;
    },
    observe: (jobId, docId) => registry.observe(jobId, docId),
    observeTruncate: (jobId) => registry.observeTruncate(jobId),
    isDue: (content) => registry.isDue(content),
    due: (content) => registry.due(content),
  };
}
