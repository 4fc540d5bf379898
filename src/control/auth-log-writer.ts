import type pg from "pg";
import type { Logger } from "../lifecycle/logger.js";
import { type AuthLogEntry, appendAuthLog } from "./auth-log.js";

/** One attempt as the auth hook reports it. Never carries a secret. */
export interface AuthAttempt {
  /** A claimed public id, "admin" or "none" (never the token or any part of its secret). */
  keyPublicId: string;
  method: string;
  route: string;
  rightNeeded: string;
  outcome: "refused" | "allowed";
  status: number;
  reason: string;
  clientAddr: string;
}

export interface AuthLogWriter {
  /** Synchronous and never throws: the auth path must not wait for the log. */
  record(a: AuthAttempt): void;
  /** Writes what is buffered now (one statement); resolves when it is written or given up. */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left; later records are counted as dropped. */
  close(): Promise<void>;
  /** Counters for tests and the log: attempts seen, dropped at the bound, lost on a failed write. */
  stats(): { recorded: number; dropped: number; lost: number; pending: number };
}

export interface AuthLogWriterOptions {
  pool: pg.Pool;
  log: Logger;
  /** How long an attempt waits in memory at most before its batch is written. Default 1000. */
  flushIntervalMs?: number;
  /** Distinct aggregates held between flushes; further new ones are dropped and counted. Default 2000. */
  maxPending?: number;
  /**
   * Distinct (key, address, ...) tuples per bucket before further new ones
   * are folded into one row per (route, outcome, reason) with key and address
   * "*". Bounds rows per bucket even when a flood varies keys and addresses.
   * Default 1000.
   */
  maxTuplesPerBucket?: number;
  /** Bucket width, ms. Default 60000 (one minute). */
  bucketMs?: number;
  now?: () => number;
}

/** The fields that make one row (the table's unique key). */
function tupleKey(bucket: number, a: AuthAttempt): string {
  return JSON.stringify([
    bucket,
    a.keyPublicId,
    a.method,
    a.route,
    a.rightNeeded,
    a.outcome,
    a.status,
    a.reason,
    a.clientAddr,
  ]);
}

/** A dropped-attempts row: counted only, nothing else kept. */
function droppedEntry(at: Date, bucketStart: Date): AuthLogEntry {
  return {
    bucketStart,
    firstSeenAt: at,
    lastSeenAt: at,
    keyPublicId: "*",
    method: "*",
    route: "*",
    rightNeeded: "*",
    outcome: "dropped",
    status: 0,
    reason: "auth log buffer full: attempts not recorded in detail",
    clientAddr: "*",
    attempts: 0,
  };
}

interface AggregateBuffer {
  /** Folds one attempt in; returns false when it was only counted as dropped. */
  add(a: AuthAttempt, at: Date): boolean;
  /** Everything aggregated since the last take (the dropped row last), and empties the buffer. */
  take(): AuthLogEntry[];
  readonly size: number;
}

/**
 * The in-memory aggregation. Same tuple + bucket: count + 1. Bounds: past
 * maxTuples distinct tuples in a bucket, new ones fold to key and address
 * "*"; past maxPending entries, new ones are only counted in one dropped row.
 */
function createAggregateBuffer(maxPending: number, maxTuples: number, bucketMs: number) {
  let pending = new Map<string, AuthLogEntry>();
  let dropped: AuthLogEntry | undefined;
  let bucketOf = -1;
  const tuples = new Set<string>();

  function keyFor(a: AuthAttempt, bucket: number): { t: AuthAttempt; key: string } {
    if (bucket !== bucketOf) {
      bucketOf = bucket;
      tuples.clear();
    }
    const key = tupleKey(bucket, a);
    if (tuples.has(key)) return { t: a, key };
    if (tuples.size < maxTuples) {
      tuples.add(key);
      return { t: a, key };
    }
    const t = { ...a, keyPublicId: "*", clientAddr: "*" };
    return { t, key: tupleKey(bucket, t) };
  }

  const buffer: AggregateBuffer = {
    add(a, at) {
      const bucket = Math.floor(at.getTime() / bucketMs) * bucketMs;
      const { t, key } = keyFor(a, bucket);
      const hit = pending.get(key);
      if (hit) {
        hit.attempts++;
        hit.lastSeenAt = at;
        return true;
      }
      const bucketStart = new Date(bucket);
      if (pending.size >= maxPending) {
        dropped ??= droppedEntry(at, bucketStart);
        dropped.attempts++;
        dropped.lastSeenAt = at;
        return false;
      }
      pending.set(key, { ...t, bucketStart, firstSeenAt: at, lastSeenAt: at, attempts: 1 });
      return true;
    },
    take() {
      const batch = [...pending.values()];
      if (dropped) batch.push(dropped);
      pending = new Map();
      dropped = undefined;
      return batch;
    },
    get size() {
      return pending.size;
    },
  };
  return buffer;
}

/**
 *   record (sync) -> aggregate buffer (bounded, see createAggregateBuffer)
 *   timer (flushIntervalMs after the first pending record) -> appendAuthLog(batch)
 *
 * At most one write is in flight. A failed write is logged and its batch is
 * given up (counted as lost): the log must never grow memory without bound
 * or retry into a database that is already struggling.
 */
export function createAuthLogWriter(opts: AuthLogWriterOptions): AuthLogWriter {
  const flushMs = opts.flushIntervalMs ?? 1_000;
  const now = opts.now ?? Date.now;
  const buffer = createAggregateBuffer(
    opts.maxPending ?? 2_000,
    opts.maxTuplesPerBucket ?? 1_000,
    opts.bucketMs ?? 60_000,
  );
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let closed = false;
  const counts = { recorded: 0, dropped: 0, lost: 0 };

  async function write(): Promise<void> {
    const batch = buffer.take();
    if (batch.length === 0) return;
    try {
      await appendAuthLog(opts.pool, batch);
    } catch (e) {
      counts.lost += batch.reduce((n, b) => n + b.attempts, 0);
      opts.log.warn(
        { component: "auth-log", err: e, rows: batch.length },
        "could not write auth log",
      );
    }
  }

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    while (inFlight) await inFlight;
    inFlight = write().finally(() => {
      inFlight = undefined;
    });
    await inFlight;
  }

  return {
    record(a) {
      if (closed) {
        counts.dropped++;
        return;
      }
      counts.recorded++;
      if (!buffer.add(a, new Date(now()))) counts.dropped++;
      // the timer is armed only while something waits, so an idle app holds none
      if (!timer) {
        timer = setTimeout(() => void flush(), flushMs);
        timer.unref();
      }
    },
    flush,
    async close() {
      closed = true;
      await flush();
    },
    stats: () => ({ ...counts, pending: buffer.size }),
  };
}
