import { LogicalReplicationService, type Pgoutput } from "pg-logical-replication";
import { sourceConnection } from "../db/pool.js";
import { backoffDelay, sleepUnlessAborted } from "../lifecycle/backoff.js";
import { redactText } from "../lifecycle/logger.js";
import { classifyReplicationError, DecodeError, errorMessage, WatchdogError } from "./errors.js";
import { formatLsn, maxLsn, parseLsn } from "./lsn.js";
import { decodePgoutput, isParseFailure, RawPgoutputPlugin } from "./pgoutput-decoder.js";
import type { ReplicationSource, ReplicationSourceOptions } from "./source-types.js";
import {
  SafeWal2JsonPlugin,
  Wal2JsonDecoder,
  type Wal2JsonV2Record,
  wal2jsonOptions,
} from "./wal2json-decoder.js";

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
  let current: Attempt | null = null;

  interface Attempt {
    service: LogicalReplicationService;
    fail(e: Error): void;
    sendStatus(): void;
  }

  async function attempt(signal: AbortSignal): Promise<void> {
    const service = new LogicalReplicationService(
      {
        // the walsender formats pgoutput's values with these settings
        ...sourceConnection(opts.connectionString),
        application_name: `athena-typesense-sync:cdc:${opts.slotName}`,
        keepAlive: true,
      },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    const ctl = new AbortController();
    let failure: Error | null = null;
    let settle: () => void = () => {};
    const done = new Promise<void>((r) => {
      settle = r;
    });
    const onOuterAbort = () => {
      ctl.abort();
      settle();
    };
    signal.addEventListener("abort", onOuterAbort, { once: true });
    const fail = (e: Error) => {
      if (failure) return;
      failure = e;
      ctl.abort();
      settle();
    };
    let lastHeard = now();
    let lastStatus = 0;
    let busy = 0;
    // resolved when the handler is idle (created only when someone waits)
    let idleWaiters: (() => void)[] = [];
    const whenIdle = (): Promise<void> =>
      busy === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r));
    let started = false;

    const sendStatus = () => {
      if (!started || failure) return;
      lastStatus = now();
      // +1 is added by the library: durable-1 puts exactly `durable` on the wire.
      service.acknowledge(formatLsn(durable - 1n), true).catch((e: unknown) => {
        fail(e instanceof Error ? e : new Error(String(e)));
      });
    };
    const a: Attempt = { service, fail, sendStatus };
    current = a;

    const decoder = opts.plugin === "wal2json" ? new Wal2JsonDecoder() : null;
    const plugin =
      opts.plugin === "wal2json"
        ? new SafeWal2JsonPlugin(
            wal2jsonOptions(opts.wal2jsonFilter?.() ?? { tables: [], messagePrefixes: [] }),
          )
        : new RawPgoutputPlugin({
            protoVersion: 1,
            publicationNames: [opts.publicationName],
            messages: true,
          });

    service.on("error", (e: Error) => fail(e));
    service.on("start", () => {
      started = true;
      lastHeard = now();
      opts.onState?.("streaming");
      sendStatus();
    });
    service.on("heartbeat", (_lsn: string, _ts: number, shouldRespond: boolean) => {
      lastHeard = now();
      // Answer with OUR durable LSN; the keepalive's own LSN is where the
      // server is, not what we have made durable (rule 6 of the recipe).
      if (shouldRespond) sendStatus();
    });
    const handled = () => {
      busy--;
      lastHeard = now();
      if (busy === 0 && idleWaiters.length > 0) {
        const ws = idleWaiters;
        idleWaiters = [];
        for (const w of ws) w();
      }
    };
    const failWith = (e: unknown) => fail(e instanceof Error ? e : new Error(String(e)));
    // Not an async function: most events are handled synchronously and return no promise
    // (the library awaits whatever we return before it reads the next message, flow control).
    // Never let the library see a rejection or a throw: with flow control it would log it and
    // go on with the NEXT message, skipping this one; every failure goes to fail() instead.
    service.on("data", (wire: string, msg: unknown): Promise<void> | undefined => {
      if (failure || ctl.signal.aborted) return undefined;
      busy++;
      let pending: Promise<void> | undefined;
      try {
        if (isParseFailure(msg)) {
          throw new DecodeError(`cannot decode a replication message: ${msg.error.message}`, true, {
            cause: msg.error,
          });
        }
        const wireLsn = parseLsn(wire);
        const ev = decoder
          ? decoder.decode(msg as Wal2JsonV2Record, wireLsn)
          : decodePgoutput(msg as Pgoutput.Message, wireLsn);
        if (ev) pending = opts.handler.onEvent(ev, ctl.signal);
      } catch (e) {
        failWith(e);
      }
      if (pending === undefined) {
        handled();
        return undefined;
      }
      return pending.then(handled, (e: unknown) => {
        failWith(e);
        handled();
      });
    });

    const timer = setInterval(
      () => {
        if (failure) return;
        const t = now();
        if (busy === 0 && t - lastHeard > watchdogMs) fail(new WatchdogError(t - lastHeard));
        else if (t - lastStatus >= keepaliveMs) sendStatus();
      },
      Math.max(50, Math.min(1000, Math.floor(keepaliveMs / 2))),
    );

    try {
      await opts.handler.onConnect(durable);
      opts.onState?.("connecting");
      opts.onService?.(service);
      log.debug({ startLsn: formatLsn(durable) }, "subscribing");
      service.subscribe(plugin, opts.slotName, formatLsn(durable)).then(
        () => fail(new Error("the server ended the replication stream")),
        (e: unknown) => fail(e instanceof Error ? e : new Error(String(e))),
      );
      await done;
    } finally {
      clearInterval(timer);
      signal.removeEventListener("abort", onOuterAbort);
      // The handler must be idle before the next connection feeds it again.
      await whenIdle();
      if (signal.aborted && started && opts.handler.onStop) {
        await opts.handler.onStop().catch((e: unknown) => {
          log.warn({ err: e }, "final flush on stop failed; the server re-sends it");
        });
        // one last status update with whatever the final flush made durable
        await service.acknowledge(formatLsn(durable - 1n)).catch(() => false);
      }
      current = null;
      await destroyWithin(service, 2000);
    }
    if (failure && !signal.aborted) throw failure;
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
            await terminateHolder();
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

  async function terminateHolder(): Promise<void> {
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
}

export type {
  ReplicationHandler,
  ReplicationSource,
  ReplicationSourceOptions,
  SourceState,
} from "./source-types.js";

/**
 * service.destroy() awaits pg's Client.end(), which waits for the server to
 * close its side. A server that is unreachable (partition, frozen process)
 * never does, and the reconnect would hang: after `ms` the socket is destroyed.
 */
async function destroyWithin(service: LogicalReplicationService, ms: number): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: private field of the library (its pg Connection)
  const stream = (service as any)._connection?.stream as { destroy?: () => void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(true), ms);
  });
  const ended = service.destroy().then(
    () => false,
    () => false,
  );
  if (await Promise.race([ended, timedOut])) stream?.destroy?.();
  clearTimeout(timer);
  await Promise.race([ended, new Promise((r) => setTimeout(r, ms))]);
}
