import type pg from "pg";
import { describeTable, type TableInfo } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import {
  HEARTBEAT_PREFIX,
  WATERMARK_PREFIX,
  type WatermarkRegistry,
} from "../coordination/watermarks.js";
import { type CdcJob, loadCdcJobs, loadJobVersions } from "../db/repositories/cdc-jobs.js";
import { linkedAbort } from "../lifecycle/abort.js";
import { type Logger, redactText } from "../lifecycle/logger.js";
import { Applier, type Checkpoint } from "./applier.js";
import type { ApplierObserver } from "./applier-types.js";
import { errorMessage } from "./errors.js";
import type { RelationInfo } from "./events.js";
import { runFanouts } from "./fanout-worker.js";
import type { Lsn } from "./lsn.js";
import { createReplicationSource, type ReplicationSource } from "./replication-source.js";
import { SerialLock } from "./serial-lock.js";
import { setupStream } from "./setup.js";
import type { SpecTarget } from "./spec-target.js";
import {
  afterSetup,
  buildTarget,
  probeParkedJobs,
  type StreamTarget,
  versionsOf,
} from "./stream-jobs.js";
import type { StreamEvent } from "./stream-status.js";
import {
  parkJob,
  persistCheckpoint,
  retainedWalBytes,
  type StreamStatus,
  updateStreamRow,
} from "./stream-store.js";
import type { CdcBackend } from "./writer.js";
import { setVersions } from "./writer.js";

/** What a stream reports to the metrics (client-bound by the caller). */
export interface CdcStreamMetrics extends ApplierObserver {
  /** A failed Typesense call of `jobId` is tried again. */
  retry(jobId: string): void;
}

/** What a session needs from its stream (stream.ts builds it once per stream). */
/** How often the fan-out queue is looked at while the session streams, ms. */
const FANOUT_POLL_MS = 100;

export interface SessionContext {
  clientName: string;
  /** Slot and publication name. */
  name: string;
  control: pg.Pool;
  source: pg.Pool;
  sourceUrl: string;
  cdc: Config["cdc"];
  backendFor(profileId: string): Promise<CdcBackend>;
  watermarks: WatermarkRegistry;
  log: Logger;
  now: () => number;
  backoff: { baseMs: number; maxMs: number };
  resync(jobId: string): Promise<void>;
  /** Feeds the stream-status machine (stream-status.ts), which writes the stream row. */
  report(ev: StreamEvent, error?: string): Promise<void>;
  instanceId?: string;
  jobsPollMs?: number;
  fanoutPageSize?: number;
  statsIntervalMs?: number;
  keepaliveMs?: number;
  watchdogMs?: number;
  metrics?: CdcStreamMetrics;
  onCheckpoint?(c: Checkpoint): void;
}

/**
 * One setup + streaming session of a stream, in named steps:
 *
 *   setup()      validate the source, sync publication and slot with the jobs,
 *                request resyncs, build the targets (StreamSession.setup)
 *   start()      attach to the watermark registry, start the timers, stream
 *                until the source stops (aborted, jobs changed) or fails
 *   checkpoint() persist, then acknowledge (DURABILITY, see below)
 *   stop()       clear the timers, detach; the session is not used again
 *
 * The source is created first; the applier after it, and the source's
 * handlers reach the applier only once start() runs the source. Every applier
 * call runs under one SerialLock (events, timer flushes, the final flush).
 */
export class StreamSession {
  readonly #ctx: SessionContext;
  readonly #log: Logger;
  /** The job set this session was set up with (see jobSignature). */
  readonly #signature: string;
  readonly #targets: StreamTarget[];
  readonly #jobIds: Set<string>;
  /** Aborted by the stream's signal, or by the session itself (jobs changed). */
  readonly #inner: AbortController;
  readonly #unlink: () => void;
  readonly #lock = new SerialLock();
  readonly #source: ReplicationSource;
  readonly #applier: Applier;
  readonly #timers: NodeJS.Timeout[] = [];
  #detach: (() => void) | null = null;
  #lastMessageMs: number | null = null;

  /** The setup step: resolves with a session ready to start. */
  static async setup(ctx: SessionContext, signal: AbortSignal): Promise<StreamSession> {
    const jobs = await loadCdcJobs(ctx.control, ctx.clientName);
    const setup = await setupStream({
      source: ctx.source,
      control: ctx.control,
      clientName: ctx.clientName,
      slotName: ctx.name,
      publicationName: ctx.name,
      plugin: ctx.cdc.plugin,
      jobs,
      log: ctx.log,
    });
    // afterSetup names the status it reached; the machine turns it into an event
    const status = (s: StreamStatus, e?: string) =>
      ctx.report(
        s === "lost" ? { kind: "slot_recreated" } : { kind: "set_up", streamed: s !== "error" },
        e,
      );
    const { control, clientName, name: slotName, log, resync } = ctx;
    await afterSetup({ control, clientName, slotName, log, resync, status }, setup);
    const targets = await Promise.all(
      setup.accepted.map((a) => buildTarget(a.job, a.table, ctx.source, ctx.backendFor, a.spec)),
    );
    return new StreamSession(ctx, jobs, targets, setup.startLsn, signal);
  }

  private constructor(
    ctx: SessionContext,
    jobs: CdcJob[],
    targets: StreamTarget[],
    startLsn: Lsn,
    signal: AbortSignal,
  ) {
    this.#ctx = ctx;
    this.#log = ctx.log;
    this.#signature = jobSignature(jobs);
    this.#targets = targets;
    this.#jobIds = new Set(targets.map((t) => t.jobId));
    // (also aborted at once when the stop came during setup)
    const { ctl, unlink } = linkedAbort(signal);
    this.#inner = ctl;
    this.#unlink = unlink;
    this.#source = this.#createSource(startLsn);
    this.#applier = this.#createApplier();
    this.#applier.setTargets(targets);
  }

  /** The start step: streams until the source stops or fails; stops the session then. */
  async start(): Promise<void> {
    this.#detach = this.#ctx.watermarks.attach({
      jobIds: this.#jobIds,
      emit: (prefix, content) => this.#emit(prefix, content),
    });
    this.#startTimers();
    try {
      await this.#source.run(this.#inner.signal);
    } finally {
      this.stop();
    }
  }

  /**
   * The checkpoint step, called by the applier (through the pipeline) in stream order.
   *   (1) Typesense confirmed: the applier calls this only after writeOps returned
   *   (2) the jobs' cdc_applied_lsn and the stream's confirmed_lsn are persisted
   *   (3) only then is the LSN acknowledged to the server (the slot may drop the WAL before it)
   * A crash between any two steps re-sends changes after the last acknowledged LSN.
   */
  async checkpoint(c: Checkpoint): Promise<void> {
    const parked = this.#applier.parkedJobs;
    const members = [...this.#jobIds].filter((id) => !parked.has(id));
    await persistCheckpoint(this.#ctx.control, this.#ctx.clientName, members, c); // (2)
    if (c.lsn !== null) this.#source.acknowledge(c.lsn); // (3)
    this.#ctx.onCheckpoint?.(c);
  }

  /** The stop step: timers cleared, unlinked from the stream's signal, detached. Idempotent. */
  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
    this.#unlink();
    this.#detach?.();
    this.#detach = null;
  }

  #createSource(startLsn: Lsn): ReplicationSource {
    const ctx = this.#ctx;
    return createReplicationSource({
      connectionString: ctx.sourceUrl,
      slotName: ctx.name,
      plugin: ctx.cdc.plugin,
      publicationName: ctx.name,
      wal2jsonFilter: () => ({
        // a spec job reads its lookup and child tables too
        tables: this.#targets.flatMap((t) =>
          t.spec ? t.spec.tables : [{ schema: t.schema, table: t.table }],
        ),
        messagePrefixes: [HEARTBEAT_PREFIX, WATERMARK_PREFIX],
      }),
      initialDurableLsn: startLsn,
      log: this.#log,
      keepaliveMs: ctx.keepaliveMs,
      watchdogMs: ctx.watchdogMs,
      backoff: ctx.backoff,
      query: (sql, params) => ctx.source.query(sql, params),
      onState(state, err) {
        if (state === "streaming") void ctx.report({ kind: "connected" });
        const message = err ? redactText(err.message) : undefined;
        if (state === "backoff") void ctx.report({ kind: "disconnected" }, message);
      },
      handler: {
        onConnect: (lsn) => this.#lock.run(() => this.#applier.reset(lsn)),
        onEvent: (ev, sig) => {
          this.#lastMessageMs = this.#ctx.now();
          return this.#lock.runNow(() => this.#applier.handle(ev, sig));
        },
        onStop: () => this.#lock.run(() => this.#applier.flush(AbortSignal.timeout(5000))),
      },
    });
  }

  #createApplier(): Applier {
    const ctx = this.#ctx;
    const log = this.#log;
    const metrics = ctx.metrics;
    return new Applier({
      log,
      flushMaxDocs: ctx.cdc.flush_max_docs,
      watermarks: ctx.watermarks,
      now: ctx.now,
      writer: {
        log,
        backoff: ctx.backoff,
        parkAfterMs: ctx.cdc.park_after_ms,
        now: ctx.now,
        onUnavailable(err) {
          if (err) void ctx.report({ kind: "typesense_down" }, redactText(err.message));
          else void ctx.report({ kind: "typesense_up" });
        },
        ...(metrics ? { onRetry: (jobId: string) => metrics.retry(jobId) } : {}),
      },
      ...(metrics ? { observer: metrics } : {}),
      // DURABILITY: parkJob commits (job out of the stream, resync marker set)
      // before the applier drops the job's changes and checkpoints past them
      async park(jobId, err) {
        const message = redactText(errorMessage(err));
        log.error({ jobId, err: { message } }, "CDC job parked: its writes keep failing");
        await parkJob(ctx.control, ctx.clientName, jobId, message);
        void ctx.report({ kind: "job_parked" });
      },
      checkpoint: (c) => this.checkpoint(c),
      // read under the stream's lock, at the window's watermark (a rebuild's barrier)
      jobVersions: async (jobId) => {
        const v = await loadJobVersions(ctx.control, jobId);
        if (!v) return null;
        this.#noteVersions(jobId, v);
        return versionsOf(v);
      },
      onRelation: (rel) => this.#refreshTargets(rel),
      onIdle: () => this.#flushWhenIdle(),
    });
  }

  /** A flush on the pipeline's completion is queued (at most one at a time). */
  #idleFlushQueued = false;

  /**
   * The writer went idle with changes pending: flush them now, under the lock like every
   * applier call (it runs after the events already queued, and the applier re-checks that
   * it is still idle). A failure reconnects like a timer flush's.
   */
  #flushWhenIdle(): void {
    const signal = this.#inner.signal;
    if (this.#idleFlushQueued || signal.aborted) return;
    this.#idleFlushQueued = true;
    void this.#lock
      .run(() => {
        this.#idleFlushQueued = false;
        if (signal.aborted) return undefined;
        return this.#applier.flushIfIdle(signal);
      })
      .catch((e: unknown) => {
        if (!signal.aborted) this.#source.reconnect(`flush failed: ${errorMessage(e)}`);
      });
  }

  async #emit(prefix: string, content: string): Promise<void> {
    await this.#ctx.source.query("select pg_logical_emit_message(false, $1, $2)", [
      prefix,
      content,
    ]);
  }

  async #target(job: CdcJob, table: TableInfo, spec?: SpecTarget): Promise<StreamTarget> {
    return buildTarget(job, table, this.#ctx.source, this.#ctx.backendFor, spec);
  }

  /** A new relation message with other columns: the table changed (DDL is not replicated). */
  async #refreshTargets(rel: RelationInfo): Promise<void> {
    const targets = this.#targets;
    const affected = targets.filter((t) => t.schema === rel.schema && t.table === rel.table);
    const known = affected[0]?.mapper.table.columns.filter((c) => !c.generated).map((c) => c.name);
    if (!known || rel.columns.length === 0 || known.join("\u0000") === rel.columns.join("\u0000")) {
      return;
    }
    const table = await describeTable(this.#ctx.source, { schema: rel.schema, table: rel.table });
    for (const t of affected) {
      // a spec job keeps its spec: Postgres renders it against the table as it is now
      const fresh = await this.#target(t.job, table, t.spec);
      targets.splice(targets.indexOf(t), 1, fresh);
    }
    this.#applier.setTargets(targets);
    this.#log.info(
      { table: `${rel.schema}.${rel.table}` },
      "table columns changed; mapping rebuilt",
    );
  }

  /** Runs `fn` every `ms` while the session runs; one run at a time, failures logged. */
  #every(ms: number, fn: () => Promise<void>): void {
    let running = false;
    const tick = () => {
      if (running || this.#inner.signal.aborted) return;
      running = true;
      fn()
        .catch((e: unknown) =>
          this.#log.warn({ err: { message: errorMessage(e) } }, "timer task failed"),
        )
        .finally(() => {
          running = false;
        });
    };
    this.#timers.push(setInterval(tick, ms));
  }

  #startTimers(): void {
    const { cdc, now } = this.#ctx;
    // flush by time: the batch of the last flush_interval_ms
    // (not waiting for the write: the pipeline keeps several flushes in flight)
    this.#every(cdc.flush_interval_ms, () => this.#flushByTime());
    // idle heartbeat: moves the slot on a quiet database (PG15+ sends nothing for unrelated writes)
    this.#every(cdc.heartbeat_ms, () => this.#emit(HEARTBEAT_PREFIX, String(now())));
    this.#every(this.#ctx.statsIntervalMs ?? 2000, () => this.#writeStats());
    // parked jobs: one authenticated write each; a success unparks the job, and the
    // jobs poll below then sets the stream up again with it (join -> resync)
    this.#every(cdc.park_probe_ms, () =>
      probeParkedJobs({
        control: this.#ctx.control,
        source: this.#ctx.source,
        clientName: this.#ctx.clientName,
        backendFor: this.#ctx.backendFor,
        log: this.#log,
      }),
    );
    // keep the publication in step with the jobs: a changed job set means a new session
    this.#every(this.#ctx.jobsPollMs ?? 5000, () => this.#pollJobs());
    // spec jobs' queued fan-outs, page by page, off the lock (fanout-worker.ts)
    const specs = new Map(
      this.#targets.flatMap((t) => (t.spec ? [[t.jobId, t.spec] as const] : [])),
    );
    if (specs.size > 0) {
      this.#every(FANOUT_POLL_MS, () =>
        runFanouts({
          control: this.#ctx.control,
          watermarks: this.#ctx.watermarks,
          specs,
          log: this.#log,
          signal: this.#inner.signal,
          pageSize: this.#ctx.fanoutPageSize,
        }),
      );
    }
  }

  async #flushByTime(): Promise<void> {
    const applier = this.#applier;
    const failed = applier.failure;
    if (!failed && !applier.dirty) return;
    const signal = this.#inner.signal;
    await this.#lock
      .run(() => {
        if (failed) throw failed;
        return applier.flush(signal, { wait: false });
      })
      .catch((e: unknown) => {
        // pending ops were taken: a fresh connection re-sends them
        if (!signal.aborted) this.#source.reconnect(`flush failed: ${errorMessage(e)}`);
      });
  }

  async #writeStats(): Promise<void> {
    const { control, clientName, source, name, now } = this.#ctx;
    const oldest = this.#applier.oldestUnappliedCommitMs;
    await updateStreamRow(control, clientName, {
      // while something waits (Typesense down), lag is the age of the oldest unapplied commit
      ...(oldest !== null && Number.isFinite(oldest) ? { lagMs: now() - oldest } : {}),
      retainedWalBytes: await retainedWalBytes(source, name),
      lastMessageAt: this.#lastMessageMs === null ? null : new Date(this.#lastMessageMs),
      leaderInstance: this.#ctx.instanceId ?? null,
    });
  }

  async #pollJobs(): Promise<void> {
    const jobs = await loadCdcJobs(this.#ctx.control, this.#ctx.clientName);
    if (jobSignature(jobs) !== this.#signature) {
      this.#log.info("jobs of this stream changed; setting up again");
      this.#inner.abort();
      return;
    }
    // A rebuild's versions changed (create, swap, discard): taken in place, under
    // the lock, without setting the session up again. Switching ON here is only
    // early (the rebuild's barrier window is what its build waits for, applier.ts);
    // switching OFF after a swap or discard is safe at any point: the version
    // is then the live one (swap) or gone (discard, writes to it are skipped).
    await this.#lock.run(() => {
      for (const j of jobs) {
        this.#noteVersions(j.id, j);
        this.#applier.updateVersions(j.id, versionsOf(j));
      }
    });
  }

  /**
   * Keeps the session's own targets in step with a job's versions (a relation
   * message rebuilds the applier's targets from them: #refreshTargets).
   */
  #noteVersions(jobId: string, v: Pick<CdcJob, "liveVersion" | "buildingVersion">): void {
    for (const t of this.#targets) {
      if (t.jobId !== jobId) continue;
      t.job = { ...t.job, liveVersion: v.liveVersion, buildingVersion: v.buildingVersion };
      setVersions(t, versionsOf(t.job));
    }
  }
}

/**
 * The job set as the publication sees it (the applied LSN moves on every
 * checkpoint; a rebuild's versions are taken in place by #pollJobs).
 */
function jobSignature(jobs: CdcJob[]): string {
  return JSON.stringify(
    jobs.map((j) => ({ ...j, cdcAppliedLsn: 0, liveVersion: 0, buildingVersion: 0 })),
  );
}
