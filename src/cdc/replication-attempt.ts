import { LogicalReplicationService, type Pgoutput } from "pg-logical-replication";
import { sourceConnection } from "../db/pool.js";
import type { Logger } from "../lifecycle/logger.js";
import { DecodeError, WatchdogError } from "./errors.js";
import { formatLsn, type Lsn, parseLsn } from "./lsn.js";
import { decodePgoutput, isParseFailure, RawPgoutputPlugin } from "./pgoutput-decoder.js";
import type { ReplicationSourceOptions } from "./source-types.js";
import {
  SafeWal2JsonPlugin,
  Wal2JsonDecoder,
  type Wal2JsonV2Record,
  wal2jsonOptions,
} from "./wal2json-decoder.js";

/** What one connection attempt needs from its ReplicationSource. */
export interface AttemptContext {
  opts: ReplicationSourceOptions;
  log: Logger;
  now: () => number;
  keepaliveMs: number;
  watchdogMs: number;
  /** The source's durable LSN (moves while the attempt runs). */
  durable(): Lsn;
  /** The attempt is done with the handler: acknowledge() no longer reaches it. */
  detach(): void;
}

/**
 * One replication connection: subscribe from the durable LSN, feed the
 * handler, answer keepalives with the durable LSN, watch for silence. Ends on
 * the outer abort or on the first failure (fail()), which run() rethrows.
 */
export class ReplicationAttempt {
  readonly service: LogicalReplicationService;
  readonly #c: AttemptContext;
  readonly #ctl = new AbortController();
  #failure: Error | null = null;
  #settle: () => void = () => {};
  readonly #done: Promise<void>;
  #lastHeard: number;
  #lastStatus = 0;
  #busy = 0;
  /** Resolved when the handler is idle (created only when someone waits). */
  #idleWaiters: (() => void)[] = [];
  #started = false;
  readonly #decoder: Wal2JsonDecoder | null;

  constructor(c: AttemptContext) {
    this.#c = c;
    this.service = new LogicalReplicationService(
      {
        // the walsender formats pgoutput's values with these settings
        ...sourceConnection(c.opts.connectionString),
        application_name: `athena-typesense-sync:cdc:${c.opts.slotName}`,
        keepAlive: true,
      },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    this.#done = new Promise<void>((r) => {
      this.#settle = r;
    });
    this.#lastHeard = c.now();
    this.#decoder = c.opts.plugin === "wal2json" ? new Wal2JsonDecoder() : null;
    this.#listen();
  }

  /** Ends the attempt with `e` (the first failure wins). */
  fail(e: Error): void {
    if (this.#failure) return;
    this.#failure = e;
    this.#ctl.abort();
    this.#settle();
  }

  /** A status update with the durable LSN (once streaming, until a failure). */
  sendStatus(): void {
    if (!this.#started || this.#failure) return;
    this.#lastStatus = this.#c.now();
    // +1 is added by the library: durable-1 puts exactly `durable` on the wire.
    this.service.acknowledge(formatLsn(this.#c.durable() - 1n), true).catch((e: unknown) => {
      this.#failWith(e);
    });
  }

  readonly #failWith = (e: unknown): void =>
    this.fail(e instanceof Error ? e : new Error(String(e)));

  #listen(): void {
    const { service } = this;
    service.on("error", (e: Error) => this.fail(e));
    service.on("start", () => {
      this.#started = true;
      this.#lastHeard = this.#c.now();
      this.#c.opts.onState?.("streaming");
      this.sendStatus();
    });
    service.on("heartbeat", (_lsn: string, _ts: number, shouldRespond: boolean) => {
      this.#lastHeard = this.#c.now();
      // Answer with OUR durable LSN; the keepalive's own LSN is where the
      // server is, not what we have made durable (rule 6 of the recipe).
      if (shouldRespond) this.sendStatus();
    });
    service.on("data", (wire: string, msg: unknown) => this.#onData(wire, msg));
  }

  /** One handler call finished (bound once: no closure per message). */
  readonly #handled = (): void => {
    this.#busy--;
    this.#lastHeard = this.#c.now();
    if (this.#busy === 0 && this.#idleWaiters.length > 0) {
      const ws = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of ws) w();
    }
  };

  /**
   * Not async: most events are handled synchronously and return no promise (the
   * library awaits whatever we return before it reads the next message, flow control).
   * Never let the library see a rejection or a throw: with flow control it would log it
   * and go on with the NEXT message, skipping this one; every failure goes to fail().
   */
  #onData(wire: string, msg: unknown): Promise<void> | undefined {
    if (this.#failure || this.#ctl.signal.aborted) return undefined;
    this.#busy++;
    let pending: Promise<void> | undefined;
    try {
      if (isParseFailure(msg)) {
        throw new DecodeError(`cannot decode a replication message: ${msg.error.message}`, true, {
          cause: msg.error,
        });
      }
      const wireLsn = parseLsn(wire);
      const ev = this.#decoder
        ? this.#decoder.decode(msg as Wal2JsonV2Record, wireLsn)
        : decodePgoutput(msg as Pgoutput.Message, wireLsn);
      if (ev) pending = this.#c.opts.handler.onEvent(ev, this.#ctl.signal);
    } catch (e) {
      this.#failWith(e);
    }
    if (pending === undefined) {
      this.#handled();
      return undefined;
    }
    return pending.then(this.#handled, (e: unknown) => {
      this.#failWith(e);
      this.#handled();
    });
  }

  #whenIdle(): Promise<void> {
    return this.#busy === 0
      ? Promise.resolve()
      : new Promise<void>((r) => this.#idleWaiters.push(r));
  }

  #plugin(): SafeWal2JsonPlugin | RawPgoutputPlugin {
    const { opts } = this.#c;
    return opts.plugin === "wal2json"
      ? new SafeWal2JsonPlugin(
          wal2jsonOptions(opts.wal2jsonFilter?.() ?? { tables: [], messagePrefixes: [] }),
        )
      : new RawPgoutputPlugin({
          protoVersion: 1,
          publicationNames: [opts.publicationName],
          messages: true,
        });
  }

  #watch(): NodeJS.Timeout {
    const { keepaliveMs, watchdogMs, now } = this.#c;
    return setInterval(
      () => {
        if (this.#failure) return;
        const t = now();
        if (this.#busy === 0 && t - this.#lastHeard > watchdogMs) {
          this.fail(new WatchdogError(t - this.#lastHeard));
        } else if (t - this.#lastStatus >= keepaliveMs) this.sendStatus();
      },
      Math.max(50, Math.min(1000, Math.floor(keepaliveMs / 2))),
    );
  }

  /** Streams until `signal` aborts or the attempt fails; rethrows the failure. */
  async run(signal: AbortSignal): Promise<void> {
    const { opts, log } = this.#c;
    const onOuterAbort = () => {
      this.#ctl.abort();
      this.#settle();
    };
    signal.addEventListener("abort", onOuterAbort, { once: true });
    const plugin = this.#plugin();
    const timer = this.#watch();
    try {
      await opts.handler.onConnect(this.#c.durable());
      opts.onState?.("connecting");
      opts.onService?.(this.service);
      // read again: a write that settled during onConnect may have moved it
      const durable = this.#c.durable();
      log.debug({ startLsn: formatLsn(durable) }, "subscribing");
      this.service.subscribe(plugin, opts.slotName, formatLsn(durable)).then(
        () => this.fail(new Error("the server ended the replication stream")),
        (e: unknown) => this.#failWith(e),
      );
      await this.#done;
    } finally {
      await this.#close(signal, timer, onOuterAbort);
    }
    if (this.#failure && !signal.aborted) throw this.#failure;
  }

  async #close(signal: AbortSignal, timer: NodeJS.Timeout, onOuterAbort: () => void) {
    const { opts, log } = this.#c;
    clearInterval(timer);
    signal.removeEventListener("abort", onOuterAbort);
    // The handler must be idle before the next connection feeds it again.
    await this.#whenIdle();
    if (signal.aborted && this.#started && opts.handler.onStop) {
      await opts.handler.onStop().catch((e: unknown) => {
        log.warn({ err: e }, "final flush on stop failed; the server re-sends it");
      });
      // one last status update with whatever the final flush made durable
      await this.service.acknowledge(formatLsn(this.#c.durable() - 1n)).catch(() => false);
    }
    this.#c.detach();
    await destroyWithin(this.service, 2000);
  }
}

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
