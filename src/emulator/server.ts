import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../lifecycle/logger.js";
import { type EmulatorStats, emptyStats } from "./documents.js";
import { ApiError } from "./errors.js";
import { applyControl } from "./fault-control.js";
import { type FaultInjector, FaultRules } from "./faults.js";
import { json, message, parseJsonBody, parseQuery, type Reply, readBody, readRaw } from "./http.js";
import { type EmulatorState, matchRoute } from "./routes.js";

export interface EmulatorOptions {
  /** The admin API key clients must send (header or `x-typesense-api-key` query param). */
  apiKey: string;
  /**
   * Store nothing, answer every import line like Typesense (benchmarks). `true` or "fast": the
   * lines are scanned for their id, not parsed or validated (cheap; a line that is not a
   * `{...}` object or has an odd id still gets the full answer). "validate": every line is
   * parsed and validated against the schema as a storing server would. Default false.
   */
  nullSink?: NullSinkOption;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind; 0 (default) picks a free one. */
  port?: number;
  /** Logger for start/stop and unexpected errors; silent when absent. */
  log?: Logger;
}

/** See EmulatorOptions.nullSink. */
export type NullSinkOption = boolean | "fast" | "validate";

/** Counters plus current sizes. */
export interface EmulatorStatsSnapshot extends EmulatorStats {
  collections: number;
  documents: number;
}

export interface EmulatorHandle {
  /** Base URL, e.g. http://127.0.0.1:54321 */
  readonly url: string;
  readonly port: number;
  readonly faults: FaultInjector;
  stats(): EmulatorStatsSnapshot;
  /** Drops every collection and alias and zeroes the counters. */
  reset(): void;
  /** Replaces the admin API key (a rotated key: the old one is refused from now on). */
  setApiKey(key: string): void;
  close(): Promise<void>;
}

const CONTROL_PREFIX = "/__emulator/";

/** Starts a Typesense-compatible server. Resolves once it is listening. */
export async function startEmulator(opts: EmulatorOptions): Promise<EmulatorHandle> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log?.child({ component: "typesense-emulator" });
  const state: EmulatorState = {
    collections: new Map(),
    aliases: new Map(),
    nullSink: opts.nullSink !== undefined && opts.nullSink !== false,
    fastSink: opts.nullSink === true || opts.nullSink === "fast",
    stats: emptyStats(),
    serial: 0,
  };
  const rules = new FaultRules();
  const sockets = new Set<Socket>();
  let down = false;
  let closed = false;
  let comeBackTimer: NodeJS.Timeout | undefined;

  let apiKey = opts.apiKey;
  const authorized = (req: IncomingMessage, params: Record<string, string>): boolean => {
    const header = req.headers["x-typesense-api-key"];
    // The header wins over the query parameter, even when it is wrong.
    const key = header !== undefined ? String(header) : params["x-typesense-api-key"];
    return key === apiKey;
  };

  const send = (res: ServerResponse, reply: Reply): void => {
    if (res.destroyed) return;
    const buf = Buffer.from(reply.body, "utf8");
    res.writeHead(reply.status, {
      "content-type": reply.text ? "text/plain; charset=utf-8" : "application/json; charset=utf-8",
      "content-length": buf.length,
    });
    res.end(buf);
  };

  const faultReply = (status: number, body: unknown): Reply =>
    typeof body === "string" ? { status, body } : json(status, body);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    state.stats.requests++;
    const method = req.method ?? "GET";
    const rawUrl = req.url ?? "/";
    const qi = rawUrl.indexOf("?");
    const path = qi < 0 ? rawUrl : rawUrl.slice(0, qi);
    const rawQuery = qi < 0 ? "" : rawUrl.slice(qi + 1);
    const params = parseQuery(rawQuery);

    if (path.startsWith(CONTROL_PREFIX)) {
      const body = await readBody(req);
      send(res, authorized(req, params) ? control(method, path, body) : forbidden());
      return;
    }

    const decision = rules.decide(method, path);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    const fault = decision.action;
    if (fault && !fault.after) {
      state.stats.faultsInjected++;
      if (fault.kind === "drop") {
        req.socket.destroy();
        return;
      }
      await readBody(req);
      send(res, faultReply(fault.status, fault.body));
      return;
    }

    let reply: Reply;
    try {
      const route = matchRoute(method, path);
      if (!route) reply = message(404, "Not Found");
      else if (!route.public && !authorized(req, params)) reply = forbidden();
      else if (route.handleChunks) reply = route.handleChunks(state, params, await readRaw(req));
      else {
        const body = route.needsBody ? await readBody(req) : "";
        reply = route.handle(state, params, body, rawQuery);
      }
    } catch (e) {
      if (e instanceof ApiError) reply = message(e.status, e.message);
      else {
        log?.error({ err: e, method, path }, "emulator request failed");
        reply = message(500, e instanceof Error ? e.message : String(e));
      }
    }
    if (fault?.after) {
      state.stats.faultsInjected++;
      if (fault.kind === "drop") {
        req.socket.destroy();
        return;
      }
      reply = faultReply(fault.status, fault.body);
    }
    send(res, reply);
  };

  const server = createServer({ maxHeaderSize: 1 << 20, keepAliveTimeout: 30_000 }, (req, res) => {
    res.on("error", () => {});
    handle(req, res).catch((e: unknown) => {
      log?.error({ err: e }, "emulator handler crashed");
      if (!res.headersSent && !res.destroyed) send(res, message(500, "Internal Server Error"));
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("clientError", (_err, socket) => socket.destroy());

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
      sockets.clear();
    });

  await listen(opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;

  const faults: FaultInjector = {
    failNext: (spec) => rules.add("fail", spec),
    addLatency: (spec) => rules.add("latency", spec),
    dropConnections: (spec) => rules.add("drop", spec),
    async goDown(forMs) {
      if (comeBackTimer) clearTimeout(comeBackTimer);
      comeBackTimer = undefined;
      if (!down && !closed) {
        down = true;
        await stop();
      }
      if (forMs !== undefined && forMs > 0) {
        comeBackTimer = setTimeout(() => {
          comeBackTimer = undefined;
          faults.comeBack().catch((e: unknown) => log?.error({ err: e }, "come back failed"));
        }, forMs);
        comeBackTimer.unref();
      }
    },
    async comeBack() {
      if (comeBackTimer) clearTimeout(comeBackTimer);
      comeBackTimer = undefined;
      if (!down || closed) return;
      await listen(port);
      down = false;
    },
    get isDown() {
      return down;
    },
    clear: () => rules.clear(),
    list: () => rules.list(),
  };

  /** POST/GET/DELETE /__emulator/faults and GET /__emulator/stats. */
  function control(method: string, path: string, body: string): Reply {
    try {
      if (path === "/__emulator/stats" && method === "GET") return json(200, handle_.stats());
      if (path === "/__emulator/reset" && method === "POST") {
        handle_.reset();
        return json(200, { ok: true });
      }
      if (path !== "/__emulator/faults") return message(404, "Not Found");
      if (method === "GET") return json(200, { down, rules: rules.list() });
      if (method === "DELETE") {
        rules.clear();
        return json(200, { ok: true });
      }
      if (method !== "POST") return message(404, "Not Found");
      return json(200, applyControl(faults, parseJsonBody(body)));
    } catch (e) {
      if (e instanceof ApiError) return message(e.status, e.message);
      return message(400, e instanceof Error ? e.message : String(e));
    }
  }

  const handle_: EmulatorHandle = {
    url,
    port,
    faults,
    stats: () => {
      let documents = 0;
      for (const c of state.collections.values()) documents += c.docs.size;
      return { ...state.stats, collections: state.collections.size, documents };
    },
    reset() {
      state.collections.clear();
      state.aliases.clear();
      Object.assign(state.stats, emptyStats());
    },
    setApiKey(key) {
      apiKey = key;
    },
    async close() {
      if (closed) return;
      if (comeBackTimer) clearTimeout(comeBackTimer);
      const wasDown = down;
      closed = true;
      if (!wasDown) await stop();
      log?.debug({ url }, "typesense emulator stopped");
    },
  };
  log?.debug({ url, nullSink: opts.nullSink ?? false }, "typesense emulator listening");
  return handle_;
}

function forbidden(): Reply {
  return message(401, "Forbidden - a valid `x-typesense-api-key` header must be sent.");
}
