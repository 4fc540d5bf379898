import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { runServe } from "../../src/cli/serve.js";
import type { Config } from "../../src/config/index.js";
import { ADMIN_KEY, testConfig } from "../http/fixture.js";
import { SQL_DIR, type TestDatabase } from "./pg.js";

export interface ServeCall {
  status: number;
  json: { status: string; message: string; data: Record<string, unknown>; error?: unknown };
}

export interface RunningServe {
  /** http://127.0.0.1:port of the listening server */
  readonly url: string;
  readonly config: Config;
  /** JSON call with the admin key (`key: null`: without a key). */
  call(method: string, path: string, body?: unknown, key?: string | null): Promise<ServeCall>;
}

/**
 * The real `serve` (runServe: HTTP, CDC supervisor, scheduler, shared
 * watermark registry, exactly as main.ts wires them) over the file's test
 * database, in this process, on a free port, from beforeAll to afterAll.
 * `clients` name source clients (URLs); the slot prefix is unique to the file.
 */
export function useServe(
  db: TestDatabase,
  opts: { clients: () => Record<string, string>; config?: (c: Config) => Config },
): RunningServe {
  const st: { url?: string; config?: Config; stop?: AbortController; done?: Promise<number> } = {};
  beforeAll(async () => {
    const base = testConfig({ controlUrl: db.url, clients: opts.clients(), allowHttp: true });
    const tuned: Config = {
      ...base,
      server: { ...base.server, host: "127.0.0.1", port: 0 },
      log: { ...base.log, level: "silent" },
      cdc: {
        ...base.cdc,
        slot_prefix: `serve_${randomBytes(4).toString("hex")}`,
        flush_interval_ms: 20,
        heartbeat_ms: 300,
      },
      shutdown: { drain_timeout_ms: 5000 },
    };
    const config = opts.config ? opts.config(tuned) : tuned;
    const stop = new AbortController();
    st.url = await new Promise<string>((resolve, reject) => {
      st.done = runServe({
        config,
        sqlDir: SQL_DIR,
        migrate: true,
        exit: () => {},
        signal: stop.signal,
        onListening: resolve,
      });
      st.done.then(
        (code) => reject(new Error(`serve stopped before listening (exit ${code})`)),
        reject,
      );
    });
    Object.assign(st, { config, stop });
  });
  afterAll(async () => {
    st.stop?.abort();
    await st.done;
  });
  return {
    get url() {
      return st.url!;
    },
    get config() {
      return st.config!;
    },
    async call(method, path, body, key = ADMIN_KEY) {
      const headers: Record<string, string> = key === null ? {} : { "x-athena-key": key };
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${st.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: (await res.json()) as ServeCall["json"] };
    },
  };
}
