import type { OpenAPIHono } from "@hono/zod-openapi";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { type AppDepsOptions, createAppDeps } from "../../src/cli/app-deps.js";
import { createBackendResolver } from "../../src/cli/wiring.js";
import { type Config, configSchema } from "../../src/config/index.js";
import type { AuthLogWriter } from "../../src/control/auth-log-writer.js";
import { createPools, type Pools } from "../../src/db/pool.js";
import { type AppEnv, createApp, createHttpService } from "../../src/http/index.js";
import type { Logger } from "../../src/lifecycle/logger.js";
import type { Metrics } from "../../src/metrics/index.js";
import { createDatabase, SQL_DIR, type TestDatabase } from "../support/pg.js";

export const ADMIN_KEY = "test-admin-key-0123456789abcdef";
export const ENC_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/** A parsed config (defaults applied) for a test app. */
export function testConfig(over: {
  controlUrl: string;
  clients?: Record<string, string>;
  encryptionKey?: string;
  allowHttp?: boolean;
  failMode?: "closed" | "open";
  bodyLimit?: number;
  /** The config's `gateway:` section (the search gateway). */
  gateway?: Record<string, unknown>;
}): Config {
  return configSchema.parse({
    server: { body_limit_bytes: over.bodyLimit ?? 65536 },
    control_database_url: over.controlUrl,
    postgres_clients: Object.fromEntries(
      Object.entries(over.clients ?? {}).map(([k, url]) => [k, { url }]),
    ),
    auth: { admin_key: ADMIN_KEY, gateway_keys_fail_mode: over.failMode ?? "closed" },
    security: { encryption_key: over.encryptionKey ?? "" },
    typesense: { allow_http: over.allowHttp ?? true },
    ...(over.gateway ? { gateway: over.gateway } : {}),
  });
}

/**
 * A source database of the file (a "client" for the app), made in beforeAll
 * with `sql` run in order and dropped in afterAll. Call it before useTestApp,
 * so the app's pools close before the database is dropped.
 */
export function useSourceDatabase(...sql: string[]): { readonly url: string } {
  const st: { url?: string; drop?: () => Promise<void> } = {};
  beforeAll(async () => {
    Object.assign(st, await createDatabase("src"));
    const c = new pg.Client({ connectionString: st.url });
    await c.connect();
    try {
      for (const q of sql) await c.query(q);
    } finally {
      await c.end();
    }
  });
  afterAll(async () => {
    await st.drop?.();
  });
  return {
    get url() {
      return st.url!;
    },
  };
}

/**
 * The real app, built the way `serve` builds it (cli/app-deps.ts createAppDeps
 * over the process parts of createBackendResolver), for tests that make an app
 * of their own. `close` closes its Typesense clients.
 */
export function buildApp(o: Omit<AppDepsOptions, "backends">): {
  app: OpenAPIHono<AppEnv>;
  close: () => Promise<void>;
} {
  const backends = createBackendResolver({ config: o.config, pools: o.pools, log: o.log });
  return {
    app: createApp(createAppDeps({ ...o, backends })),
    close: () => backends.clients.close(),
  };
}

export interface TestApp {
  readonly app: OpenAPIHono<AppEnv>;
  readonly pools: Pools;
  readonly config: Config;
  /** The auth log writer given through opts.authLog (undefined: the app made its own). */
  readonly authLog: AuthLogWriter | undefined;
}

/**
 * Builds the real app over the file's test database (real pools, real
 * migrations dir) in beforeAll; closes the pools in afterAll.
 */
export function useTestApp(
  db: TestDatabase,
  log: () => Logger,
  opts: {
    clients?: () => Record<string, string>;
    encryptionKey?: string;
    allowHttp?: boolean;
    bodyLimit?: number;
    /** An auth log writer for the app (tests that flush and read the log). */
    authLog?: (pools: Pools) => AuthLogWriter;
    gateway?: Record<string, unknown>;
    /** A metrics registry for the app (served on /metrics). */
    metrics?: Metrics;
  } = {},
): TestApp {
  const state: Partial<TestApp> & { close?: () => Promise<void> } = {};
  beforeAll(() => {
    const config = testConfig({
      controlUrl: db.url,
      clients: opts.clients?.() ?? {},
      encryptionKey: opts.encryptionKey ?? "",
      allowHttp: opts.allowHttp ?? true,
      bodyLimit: opts.bodyLimit ?? 65536,
      ...(opts.gateway ? { gateway: opts.gateway } : {}),
    });
    const pools = createPools({
      controlUrl: db.url,
      clients: config.postgres_clients,
      log: log(),
    });
    const authLog = opts.authLog?.(pools);
    const built = buildApp({
      config,
      log: log(),
      pools,
      migrationsDir: SQL_DIR,
      ...(authLog ? { authLog } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    Object.assign(state, { config, pools, authLog, app: built.app, close: built.close });
  });
  afterAll(async () => {
    await state.close?.();
    await state.pools?.close();
  });
  return {
    get app() {
      return state.app!;
    },
    get pools() {
      return state.pools!;
    },
    get config() {
      return state.config!;
    },
    get authLog() {
      return state.authLog;
    },
  };
}

/**
 * Serves the test app on a free 127.0.0.1 port (a REAL listening server)
 * from beforeAll until afterAll; `base` is its URL once listening.
 */
export function useListeningServer(t: TestApp, log: () => Logger): { readonly base: string } {
  const ctl = new AbortController();
  let base = "";
  let served: Promise<void> | undefined;
  beforeAll(async () => {
    served = createHttpService({
      app: t.app,
      host: "127.0.0.1",
      port: 0,
      log: log(),
      onListening: (u) => {
        base = u;
      },
    }).run(ctl.signal);
    for (let i = 0; i < 100 && !base; i++) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(async () => {
    ctl.abort();
    await served;
  });
  return {
    get base() {
      return base;
    },
  };
}

export const admin = { "X-Athena-Key": ADMIN_KEY };

/** JSON request helper for app.request(). */
export function jsonInit(
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}
