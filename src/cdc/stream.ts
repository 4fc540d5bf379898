import type pg from "pg";
import { describeTable, type TableInfo } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import {
  createWatermarkRegistry,
  HEARTBEAT_PREFIX,
  WATERMARK_PREFIX,
  type WatermarkRegistry,
} from "../coordination/watermarks.js";
import { type CdcJob, loadCdcJobs, streamObjectName } from "../db/repositories/cdc-jobs.js";
import { linkedAbort } from "../lifecycle/abort.js";
import { backoffDelay, sleepUnlessAborted } from "../lifecycle/backoff.js";
import type { Logger } from "../lifecycle/logger.js";
import { redactText } from "../lifecycle/logger.js";
import type { Service } from "../lifecycle/service.js";
import { Applier, type Checkpoint } from "./applier.js";
import type { ApplierObserver } from "./applier-types.js";
import { CdcError, classifyReplicationError, errorMessage } from "./errors.js";
import type { RelationInfo } from "./events.js";
import { createReplicationSource, type ReplicationSource } from "./replication-source.js";
import { setupStream } from "./setup.js";
import { afterSetup, buildTarget, defaultResync, probeParkedJobs } from "./stream-jobs.js";
import {
  parkJob,
  persistCheckpoint,
  recordStreamError,
  retainedWalBytes,
  type StreamStatus,
  updateStreamRow,
} from "./stream-store.js";
import type { CdcBackend } from "./writer.js";

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

/** What a stream reports to the metrics (client-bound by the caller). */
export interface CdcStreamMetrics extends ApplierObserver {
  /** A failed Typesense call of `jobId` is tried again. */
  retry(jobId: string): void;
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
 * stream row. streaming: ReplicationSource -> Applier -> Typesense.
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
  const now = opts.now ?? Date.now;
  const backoff = opts.backoff ?? { baseMs: 250, maxMs: 15_000 };
  const watermarks = opts.watermarks ?? createWatermarkRegistry();
  const resync = opts.requestResync ?? defaultResync(opts.control);
  const status = (s: StreamStatus, error?: string) =>
    updateStreamRow(opts.control, opts.clientName, { status: s, error }).catch((e: unknown) =>
      log.warn({ err: { message: errorMessage(e) } }, "cannot update the stream row"),
    );

  /** One setup + streaming session; resolves when it should be set up again. */
  async function session(signal: AbortSignal): Promise<void> {
    const jobs = await loadCdcJobs(opts.control, opts.clientName);
    const setup = await setupStream({
      source: opts.source,
      control: opts.control,
      clientName: opts.clientName,
      slotName: name,
      publicationName: name,
      plugin: opts.cdc.plugin,
      jobs,
      log,
    });
    await afterSetup(
      { control: opts.control, clientName: opts.clientName, slotName: name, log, resync, status },
      setup,
    );
    const target = (job: CdcJob, table: TableInfo) =>
      buildTarget(job, table, opts.source, opts.backendFor);
    const targets = await Promise.all(setup.accepted.map((a) => target(a.job, a.table)));
    const jobIds = new Set(targets.map((t) => t.jobId));
    // (also aborted at once when the stop came during setup)
    const { ctl: inner, unlink } = linkedAbort(signal);

    // Every applier call runs under this lock: events, timer flushes, the final flush, one at a
    // time in call order. When nothing holds it, a call runs at once (synchronously: no promise
    // per row change); a call that returns a promise holds it until that settles.
    let tail: Promise<unknown> = Promise.resolve();
    let held = 0;
    const release = () => {
      held--;
    };
    const locked = <T>(fn: () => Promise<T> | T): Promise<T> => {
      const p = tail.then(fn);
      held++;
      tail = p.then(release, release);
      return p;
    };
    const lockedNow = (fn: () => Promise<void> | undefined): Promise<void> | undefined => {
      if (held > 0) return locked(fn);
      const r = fn(); // a synchronous throw reaches the source's handler, which fails the connection
      if (r === undefined) return undefined;
      held++;
      tail = r.then(release, release);
      return r;
    };
    let lastMessageMs: number | null = null;
    let unavailable: Error | null = null;
    let source: ReplicationSource | null = null;
    const applier = new Applier({
      log,
      flushMaxDocs: opts.cdc.flush_max_docs,
      watermarks,
      now,
      writer: {
        log,
        backoff,
        parkAfterMs: opts.cdc.park_after_ms,
        now,
        onUnavailable(err) {
          unavailable = err;
          void status(err ? "backoff" : "streaming", err ? redactText(err.message) : undefined);
        },
        ...(opts.metrics ? { onRetry: (jobId: string) => opts.metrics?.retry(jobId) } : {}),
      },
      ...(opts.metrics ? { observer: opts.metrics } : {}),
      // DURABILITY: parkJob commits (job out of the stream, resync marker set)
      // before the applier drops the job's changes and checkpoints past them
      async park(jobId, err) {
        const message = redactText(errorMessage(err));
        log.error({ jobId, err: { message } }, "CDC job parked: its writes keep failing");
        await parkJob(opts.control, opts.clientName, jobId, message);
        unavailable = null;
        void status("streaming");
      },
      async checkpoint(c) {
        // (1) Typesense confirmed: the applier calls this only after writeOps returned
        const members = [...jobIds].filter((id) => !applier.parkedJobs.has(id));
        await persistCheckpoint(opts.control, opts.clientName, members, c); // (2)
        if (c.lsn !== null) source?.acknowledge(c.lsn); // (3)
        opts.onCheckpoint?.(c);
      },
      onRelation: (rel) => refreshTargets(rel),
    });
    applier.setTargets(targets);

    async function refreshTargets(rel: RelationInfo): Promise<void> {
      const affected = targets.filter((t) => t.schema === rel.schema && t.table === rel.table);
      const known = affected[0]?.mapper.table.columns
        .filter((c) => !c.generated)
        .map((c) => c.name);
      if (
        !known ||
        rel.columns.length === 0 ||
        known.join("\u0000") === rel.columns.join("\u0000")
      ) {
        return;
      }
      // The table changed (DDL is not replicated; a new relation message says so).
      const table = await describeTable(opts.source, { schema: rel.schema, table: rel.table });
      for (const t of affected) {
        const fresh = await target(t.job, table);
        targets.splice(targets.indexOf(t), 1, fresh);
      }
      applier.setTargets(targets);
      log.info({ table: `${rel.schema}.${rel.table}` }, "table columns changed; mapping rebuilt");
    }

    source = createReplicationSource({
      connectionString: opts.sourceUrl,
      slotName: name,
      plugin: opts.cdc.plugin,
      publicationName: name,
      wal2jsonFilter: () => ({
        tables: targets.map((t) => ({ schema: t.schema, table: t.table })),
        messagePrefixes: [HEARTBEAT_PREFIX, WATERMARK_PREFIX],
      }),
      initialDurableLsn: setup.startLsn,
      log,
      keepaliveMs: opts.keepaliveMs,
      watchdogMs: opts.watchdogMs,
      backoff,
      query: (sql, params) => opts.source.query(sql, params),
      onState(state, err) {
        if (state === "streaming" && !unavailable) void status("streaming");
        if (state === "backoff") void status("backoff", err ? redactText(err.message) : undefined);
      },
      handler: {
        onConnect: (lsn) => locked(() => applier.reset(lsn)),
        onEvent: (ev, sig) => {
          lastMessageMs = now();
          return lockedNow(() => applier.handle(ev, sig));
        },
        onStop: () => locked(() => applier.flush(AbortSignal.timeout(5000))),
      },
    });
    const emit = async (prefix: string, content: string) => {
      await opts.source.query("select pg_logical_emit_message(false, $1, $2)", [prefix, content]);
    };
    const detach = watermarks.attach({ jobIds, emit });

    const timers: NodeJS.Timeout[] = [];
    const every = (ms: number, fn: () => Promise<void>) => {
      let running = false;
      timers.push(
        setInterval(() => {
          if (running || inner.signal.aborted) return;
          running = true;
          fn()
            .catch((e: unknown) =>
              log.warn({ err: { message: errorMessage(e) } }, "timer task failed"),
            )
            .finally(() => {
              running = false;
            });
        }, ms),
      );
    };
    // flush by time: the batch of the last flush_interval_ms
    // (not waiting for the write: the pipeline keeps several flushes in flight)
    every(opts.cdc.flush_interval_ms, async () => {
      const failed = applier.failure;
      if (!failed && !applier.dirty) return;
      await locked(() => {
        if (failed) throw failed;
        return applier.flush(inner.signal, { wait: false });
      }).catch((e: unknown) => {
        // pending ops were taken: a fresh connection re-sends them
        if (!inner.signal.aborted) source?.reconnect(`flush failed: ${errorMessage(e)}`);
      });
    });
    // idle heartbeat: moves the slot on a quiet database (PG15+ sends nothing for unrelated writes)
    every(opts.cdc.heartbeat_ms, () => emit(HEARTBEAT_PREFIX, String(now())));
    every(opts.statsIntervalMs ?? 2000, async () => {
      const oldest = applier.oldestUnappliedCommitMs;
      await updateStreamRow(opts.control, opts.clientName, {
        // while something waits (Typesense down), lag is the age of the oldest unapplied commit
        ...(oldest !== null && Number.isFinite(oldest) ? { lagMs: now() - oldest } : {}),
        retainedWalBytes: await retainedWalBytes(opts.source, name),
        lastMessageAt: lastMessageMs === null ? null : new Date(lastMessageMs),
        leaderInstance: opts.instanceId ?? null,
      });
    });
    // parked jobs: one authenticated write each; a success unparks the job, and the
    // jobs poll below then sets the stream up again with it (join -> resync)
    every(opts.cdc.park_probe_ms, () =>
      probeParkedJobs({
        control: opts.control,
        source: opts.source,
        clientName: opts.clientName,
        backendFor: opts.backendFor,
        log,
      }),
    );
    // keep the publication in step with the jobs: a changed job set means a new session
    const signature = (js: CdcJob[]) => JSON.stringify(js.map((j) => ({ ...j, cdcAppliedLsn: 0 })));
    const sig0 = signature(jobs);
    every(opts.jobsPollMs ?? 5000, async () => {
      const now2 = await loadCdcJobs(opts.control, opts.clientName);
      if (signature(now2) !== sig0) {
        log.info("jobs of this stream changed; setting up again");
        inner.abort();
      }
    });
    try {
      await source.run(inner.signal);
    } finally {
      for (const t of timers) clearInterval(t);
      unlink();
      detach();
    }
  }

  return {
    name: `cdc:${opts.clientName}`,
    async run(signal) {
      let failures = 0;
      while (!signal.aborted) {
        try {
          await session(signal);
          failures = 0;
        } catch (e) {
          if (signal.aborted) break;
          opts.onSessionFailed?.(e);
          failures++;
          const kind = classifyReplicationError(e, name);
          const retryable = !(e instanceof CdcError) || e.retryable || kind === "slot_lost";
          const delay = kind === "slot_lost" ? 0 : backoffDelay(failures, backoff);
          const message = redactText(errorMessage(e));
          log.error({ err: { message }, kind, delayMs: delay }, "CDC stream session failed");
          await recordStreamError(opts.control, {
            clientName: opts.clientName,
            slotName: name,
            plugin: opts.cdc.plugin,
            status: kind === "slot_lost" ? "lost" : "error",
            error: message,
          }).catch((e2: unknown) =>
            log.warn({ err: { message: errorMessage(e2) } }, "cannot update the stream row"),
          );
          // An operator must act on a non-retryable error; check again now and then.
          const wait = retryable ? delay : Math.max(delay, 30_000);
          if (!(await sleepUnlessAborted(wait, signal))) break;
        }
      }
      await status("stopped");
    },
  };
}
