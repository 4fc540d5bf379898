import { backoffDelay, sleepUnlessAborted } from "../lifecycle/backoff.js";
import { type Logger, redactText } from "../lifecycle/logger.js";
import { classifyReplicationError, errorMessage } from "./errors.js";
import { maxLsn } from "./lsn.js";
import { type AttemptContext, ReplicationAttempt } from "./replication-attempt.js";
import type { ReplicationSource, ReplicationSourceOptions } from "./source-types.js";

/**
 * pg-logical-replication 2.5.0 behind the safe settings of
 * reference/pg-logical-replication.md section 2:
 *
 * - acknowledge {auto:false, timeoutSeconds:0}: the library never acks on its
 *   own (its timer acks the last RECEIVED LSN, issue #174);
 * - flowControl: each handler is awaited before the next message is read;
 * - our own keepalive answers `shouldRespond` and sends a status update every
 *   keepaliveMs, always with OUR durable LSN, never a keepalive's LSN;
 * - the library adds 1 to what it sends, so we pass durable-1 and the exact
 *   durable LSN goes on the wire;
 * - a watchdog reconnects a silent connection (the library has no dead-
 *   connection detection);
 * - on ANY error the service is destroyed and a new one subscribes from our
 *   durable LSN after a backoff; "slot active" (55006) is retried as well.
 *
 *   run: connect -> subscribe(durable) -> stream ... error -> destroy -> backoff -> connect
 *                                                  \-> slot lost / setup error -> reject
 */
export function createReplicationSource(opts: ReplicationSourceOptions): ReplicationSource {
  const log = opts.log.child({ component: "cdc-source", slot: opts.slotName });
  const now = opts.now ?? Date.now;
  const keepaliveMs = opts.keepaliveMs ?? 10_000;
  const watchdogMs = opts.watchdogMs ?? 60_000;
  const backoff = opts.backoff ?? { baseMs: 250, maxMs: 15_000 };
  const terminateAfter = opts.terminateStaleHolderAfter ?? 5;
  if (opts.initialDurableLsn <= 0n) throw new Error("initialDurableLsn must be a real LSN");
  let durable = opts.initialDurableLsn;
  let current: ReplicationAttempt | null = null;
  const ctx: AttemptContext = {
    opts,
    log,
    now,
    keepaliveMs,
    watchdogMs,
    durable: () => durable,
    detach: () => {
      current = null;
    },
  };

  async function attempt(signal: AbortSignal): Promise<void> {
    const a = new ReplicationAttempt(ctx);
    current = a;
    await a.run(signal);
  }

  return {
    durableLsn: () => durable,
    acknowledge(lsn) {
      if (lsn <= durable) return;
      durable = maxLsn(durable, lsn);
      current?.sendStatus();
    },
    reconnect(reason) {
      current?.fail(new Error(reason));
    },
    async run(signal) {
      let failures = 0;
      let slotActive = 0;
      while (!signal.aborted) {
        const startedAt = now();
        try {
          await attempt(signal);
          return;
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          const kind = classifyReplicationError(err, opts.slotName);
          if (kind === "slot_lost" || kind === "setup") throw err;
          // a connection that streamed for a while resets the backoff
          if (now() - startedAt > Math.max(watchdogMs, 30_000)) failures = 0;
          failures++;
          slotActive = kind === "slot_active" ? slotActive + 1 : 0;
          if (kind === "slot_active" && terminateAfter > 0 && slotActive >= terminateAfter) {
            await terminateHolder(opts, log);
          }
          const delay = backoffDelay(failures, backoff);
          log.warn(
            { err: { message: redactText(errorMessage(err)) }, attempt: failures, delayMs: delay },
            "replication connection failed; resubscribing from the durable LSN",
          );
          opts.onState?.("backoff", err);
          if (!(await sleepUnlessAborted(delay, signal))) return;
        }
      }
    },
  };
}

export type {
  ReplicationHandler,
  ReplicationSource,
  ReplicationSourceOptions,
  SourceState,
} from "./source-types.js";

/** Ends the backend still holding the slot (a connection that died without closing). */
async function terminateHolder(opts: ReplicationSourceOptions, log: Logger): Promise<void> {
  if (!opts.query) return;
  try {
    await opts.query(
      `select pg_terminate_backend(active_pid) from pg_replication_slots
        where slot_name = $1 and active_pid is not null`,
      [opts.slotName],
    );
    log.warn("terminated the stale backend holding the slot");
  } catch (e) {
    log.warn({ err: { message: errorMessage(e) } }, "could not terminate the slot holder");
  }
}
