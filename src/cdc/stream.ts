import type pg from "pg";
import type { Config } from "../config/index.js";
import { createWatermarkRegistry, type WatermarkRegistry } from "../coordination/watermarks.js";
import { streamObjectName } from "../db/repositories/cdc-jobs.js";
import { backoffDelay, sleepUnlessAborted } from "../lifecycle/backoff.js";
import type { Logger } from "../lifecycle/logger.js";
import { redactText } from "../lifecycle/logger.js";
import type { Service } from "../lifecycle/service.js";
import type { Checkpoint } from "./applier.js";
import { CdcError, classifyReplicationError, errorMessage } from "./errors.js";
import { defaultResync } from "./stream-jobs.js";
import { type CdcStreamMetrics, type SessionContext, StreamSession } from "./stream-session.js";
import { INITIAL_STREAM_STATE, next, type StreamEvent, type StreamState } from "./stream-status.js";
import { recordStreamError, updateStreamRow } from "./stream-store.js";
import type { CdcBackend } from "./writer.js";

export type { CdcStreamMetrics } from "./stream-session.js";

export interface CdcStreamOptions {
  /** Source client name (key of postgres_clients). */
  clientName: string;
  control: pg.Pool;
  /** Pool on the source database (setup, heartbeats, refetch, watermarks). */
  source: pg.Pool;
  /** URL of the source database, for the replication connections. */
  sourceUrl: string;
  /** The `cdc:` section of the config. */
  cdc: Config["cdc"];
  /** Typesense backend of a profile (main.ts decrypts the key and builds it). */
  backendFor(profileId: string): Promise<CdcBackend>;
  /** Shared with the full-sync engine (DBLog windows). Default: a private registry. */
  watermarks?: WatermarkRegistry;
  log: Logger;
  /** Written to leader_instance with every stats update. */
  instanceId?: string;
  /** How often the job set is re-read (publication kept in step), ms. Default 5000. */
  jobsPollMs?: number;
  /** Roots per page of a spec job's fan-out (fanout-worker.ts). Default 1000. */
  fanoutPageSize?: number;
  /** How often lag, retained WAL and the leader heartbeat are written, ms. Default 2000. */
  statsIntervalMs?: number;
  /** Replication keepalive / watchdog, ms (see ReplicationSourceOptions). */
  keepaliveMs?: number;
  watchdogMs?: number;
  /** Backoff for reconnects, setup retries and Typesense retries. Default 250 ms .. 15 s. */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * Requests a full resync of a job (lost slot, job joined the stream).
   * Default: requestJoinResync (coordination/request-run.ts: a run started before
   * the join is cancelled and a new "resync" run queued, never resumed).
   */
  requestResync?(jobId: string): Promise<void>;
  /** Metrics hooks (metrics/cdc-observer.ts), called after Typesense confirmed. */
  metrics?: CdcStreamMetrics;
  /** Test hook: after each checkpoint was persisted and acknowledged. */
  onCheckpoint?(c: Checkpoint): void;
  /** A session (setup or streaming) failed; the stream retries after a delay. */
  onSessionFailed?(err: unknown): void;
  now?: () => number;
}

/**
 * One logical replication stream per source client, as a Service.
 *
 *   ┌──────────┐ ok  ┌───────────┐ jobs changed / slot lost / setup error
 *   │  setup   │────>│ streaming │──────────────────────────────┐
 *   └──────────┘     └───────────┘                              │
 *     ^    │ error     │   ^  connection error: the source      │
 *     │    v           │   │  reconnects by itself ("backoff")  │
 *   ┌──────────┐       └───┘  Typesense down: writes retried,   │
 *   │  error   │              no ack ("backoff"), lag grows     │
 *   └──────────┘<───────────────────────────────────────────────┘
 *        │ (delay)  -> setup again          abort (any state) -> stopped
 *
 * setup: validate the source, sync the publication with the jobs, ensure the
 * slot (recreate a lost one and request a resync of every job), upsert the
 * stream row. streaming: ReplicationSource -> Applier -> Typesense. Each pass
 * is one StreamSession (stream-session.ts: setup, start, checkpoint, stop);
 * the stored status follows the machine in stream-status.ts.
 *
 * DURABILITY INVARIANT (in this order, always):
 *   1. Typesense confirmed the writes of every transaction up to LSN L
 *   2. typesense_sync_jobs.cdc_applied_lsn and typesense_cdc_streams.confirmed_lsn = L persisted
 *   3. L acknowledged to the server (the slot may drop the WAL before L)
 * A crash between any two steps re-sends changes after the last acknowledged
 * LSN; every write is idempotent (upsert/update/delete by id).
 */
export function createCdcStream(opts: CdcStreamOptions): Service {
  const name = streamObjectName(opts.cdc.slot_prefix, opts.clientName);
  const log = opts.log.child({ component: "cdc", client: opts.clientName, slot: name });
  const backoff = opts.backoff ?? { baseMs: 250, maxMs: 15_000 };
  let state: StreamState = INITIAL_STREAM_STATE;
  /** Feeds the status machine; writes the row when the event applies (stream-status.ts). */
  const report = (ev: StreamEvent, error?: string): Promise<void> => {
    const to = next(state, ev);
    if (to === state) return Promise.resolve();
    state = to;
    return updateStreamRow(opts.control, opts.clientName, { status: to.status, error }).catch(
      (e: unknown) =>
        log.warn({ err: { message: errorMessage(e) } }, "cannot update the stream row"),
    );
  };
  const ctx: SessionContext = {
    ...opts,
    name,
    log,
    now: opts.now ?? Date.now,
    backoff,
    watermarks: opts.watermarks ?? createWatermarkRegistry(),
    resync: opts.requestResync ?? defaultResync(opts.control),
    report,
  };

  /** A failed session: recorded on the stream row; resolves after the delay (false: aborted). */
  async function failed(e: unknown, failures: number, signal: AbortSignal): Promise<boolean> {
    opts.onSessionFailed?.(e);
    const kind = classifyReplicationError(e, name);
    const retryable = !(e instanceof CdcError) || e.retryable || kind === "slot_lost";
    const delay = kind === "slot_lost" ? 0 : backoffDelay(failures, backoff);
    const message = redactText(errorMessage(e));
    log.error({ err: { message }, kind, delayMs: delay }, "CDC stream session failed");
    state = next(state, { kind: "session_failed", slotLost: kind === "slot_lost" });
    await recordStreamError(opts.control, {
      clientName: opts.clientName,
      slotName: name,
      plugin: opts.cdc.plugin,
      status: state.status,
      error: message,
    }).catch((e2: unknown) =>
      log.warn({ err: { message: errorMessage(e2) } }, "cannot update the stream row"),
    );
    // An operator must act on a non-retryable error; check again now and then.
    const wait = retryable ? delay : Math.max(delay, 30_000);
    return sleepUnlessAborted(wait, signal);
  }

  return {
    name: `cdc:${opts.clientName}`,
    async run(signal) {
      state = INITIAL_STREAM_STATE;
      let failures = 0;
      while (!signal.aborted) {
        try {
          const session = await StreamSession.setup(ctx, signal);
          await session.start();
          failures = 0;
        } catch (e) {
          if (signal.aborted) break;
          failures++;
          if (!(await failed(e, failures, signal))) break;
        }
      }
      await report({ kind: "stop" });
    },
  };
}
