import type { LogicalReplicationService } from "pg-logical-replication";
import type { Logger } from "../lifecycle/logger.js";
import type { ChangeEvent } from "./events.js";
import type { Lsn } from "./lsn.js";

/**
 * The consumer of a replication stream. Events arrive one at a time, in
 * stream order; the next one is not read from the socket before the previous
 * handler resolved (flow control), so a slow consumer holds the server back
 * instead of filling memory.
 */
export interface ReplicationHandler {
  /**
   * Called before every (re)subscribe, with the LSN the stream resumes from.
   * Drop any partially received transaction: the server sends it again from
   * its BEGIN.
   */
  onConnect(startLsn: Lsn): Promise<void> | void;
  /**
   * One event. `signal` aborts when this connection failed or the source stops. Returns a
   * promise only when the event needs to wait (a flush, DDL...): most row changes are
   * handled synchronously, without a promise per change. A synchronous throw is a failure
   * like a rejection.
   */
  onEvent(event: ChangeEvent, signal: AbortSignal): Promise<void> | undefined;
  /** Called on a clean stop while the connection is still open (final flush + acknowledge). */
  onStop?(): Promise<void>;
}

export type SourceState = "connecting" | "streaming" | "backoff";

export interface ReplicationSourceOptions {
  /** Source database URL; the adapter opens its own replication connections. */
  connectionString: string;
  slotName: string;
  plugin: "pgoutput" | "wal2json";
  /** pgoutput: the publication to stream. */
  publicationName: string;
  /** wal2json: the tables to stream and message prefixes to pass (read at every subscribe). */
  wal2jsonFilter?: () => {
    tables: { schema: string; table: string }[];
    messagePrefixes: string[];
  };
  /**
   * The LSN everything before which is durable: the stream resumes here. Must
   * be a real position (the slot's confirmed_flush_lsn or later), never 0/0.
   */
  initialDurableLsn: Lsn;
  handler: ReplicationHandler;
  log: Logger;
  /** Standby status update (with reply request) interval, ms. Default 10 000. */
  keepaliveMs?: number;
  /**
   * Reconnect when nothing arrived for this long while the handler was idle,
   * ms. Default 60 000 (the server's default wal_sender_timeout). Our
   * keepalives request a reply, so a healthy idle server answers well within it.
   */
  watchdogMs?: number;
  /** Reconnect backoff. Default 250 ms doubling to 15 s. */
  backoff?: { baseMs: number; maxMs: number };
  /**
   * After this many consecutive "slot is active" (55006) errors, terminate the
   * backend holding the slot. Only the leader of a source client runs a
   * source, so the holder is a dead predecessor whose connection the server has
   * not noticed yet. 0 disables. Default 5.
   */
  terminateStaleHolderAfter?: number;
  /** Run a query on a normal (non-replication) connection: used to end a stale slot holder. */
  query?: (sql: string, params: unknown[]) => Promise<unknown>;
  /** State changes and errors, for typesense_cdc_streams. */
  onState?: (state: SourceState, error?: Error) => void;
  /** Injectable clock (ms). */
  now?: () => number;
  /** Test hook: called with each connected LogicalReplicationService. */
  onService?: (service: LogicalReplicationService) => void;
}

export interface ReplicationSource {
  /** Streams until `signal` aborts; reconnects on transient errors; rejects on setup errors. */
  run(signal: AbortSignal): Promise<void>;
  /**
   * Declares `lsn` durable and acknowledges it to the server.
   *
   * DURABILITY INVARIANT: call this only after (1) Typesense confirmed every
   * write of every transaction ending at or before `lsn`, and (2) the job's
   * cdc_applied_lsn and the stream's confirmed_lsn were persisted. The server
   * may then recycle the WAL before `lsn`; we never get it again. Monotonic:
   * a smaller LSN is ignored.
   */
  acknowledge(lsn: Lsn): void;
  durableLsn(): Lsn;
  /** Drops the current connection (as after a network error); the run loop reconnects. */
  reconnect(reason: string): void;
}
