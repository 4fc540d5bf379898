import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { createCdcSupervisor } from "../../src/cdc/supervisor.js";
import { createAppDeps } from "../../src/cli/app-deps.js";
import { createBackendResolver, createEngine } from "../../src/cli/wiring.js";
import { createPools, type Pools } from "../../src/db/pool.js";
import { createApp, createHttpService } from "../../src/http/index.js";
import { createMetrics } from "../../src/metrics/index.js";
import { createScheduler } from "../../src/scheduler/index.js";
import { ADMIN_KEY, testConfig } from "../http/fixture.js";
import { silentLogger } from "../support/log.js";
import { createDatabase, SQL_DIR, type TestDatabase } from "../support/pg.js";
import type { TypesenseTarget } from "../support/typesense.js";

/** Rows of the source table whose category is NULL: the collection requires it (dead letters). */
export const ROWS_WITHOUT_CATEGORY = [7, 13];
export const ROWS = 40;

export interface ConsoleStack {
  /** http://127.0.0.1:port of the real listening server */
  readonly url: string;
  readonly adminKey: string;
  /** A gateway key with only gateway.typesense_search. */
  readonly searchKey: string;
  /** The source database (client "app"). */
  readonly source: pg.Pool;
  /** Pre-created collection with `category` as a required facet field. */
  readonly collection: string;
}

/**
 * Everything `serve` runs, in this process, on a real port: the API + console
 * over the file's control database, a source client "app" with a `products`
 * table, the full-sync engine under the scheduler (manual runs start on
 * NOTIFY; the poll is an hour so nothing runs unasked), the CDC supervisor
 * (streams start once a CDC-enabled job exists; slot prefix unique to this
 * file), and the test's Typesense (embedded emulator unless TYPESENSE_URL is set).
 */
export function useConsoleStack(db: TestDatabase, ts: TypesenseTarget): ConsoleStack {
  const st: Partial<ConsoleStack> & {
    pools?: Pools;
    stop?: AbortController;
    done?: Promise<unknown>;
  } = {};
  let dropSource: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const src = await createDatabase("src");
    dropSource = src.drop;
    const source = new pg.Pool({ connectionString: src.url, max: 2 });
    await source.query(`create table products (id bigint primary key, title text not null,
      body text, category text, price numeric(10,2))`);
    await source.query(
      `insert into products
       select i, case when i % 4 = 0 then 'Blue widget ' || i else 'Gadget ' || i end,
              'Handmade item number ' || i || ', sturdy and light',
              case when i = any($2::int[]) then null
                   else (array['tools','toys','garden'])[1 + i % 3] end,
              i * 1.5
         from generate_series(1, $1::int) i`,
      [ROWS, ROWS_WITHOUT_CATEGORY],
    );
    // Operators who want facets create the collection with facet fields before the
    // first sync; the engine keeps it and adds the other fields.
    const collection = ts.uniqueName("products");
    await ts.client.collections().create({
      name: collection,
      fields: [{ name: "category", type: "string", facet: true }],
    });

    const log = silentLogger();
    const base = testConfig({ controlUrl: db.url, clients: { app: src.url }, allowHttp: true });
    const slotPrefix = `console_${randomBytes(4).toString("hex")}`;
    const config = {
      ...base,
      cdc: { ...base.cdc, slot_prefix: slotPrefix, flush_interval_ms: 20 },
    };
    const pools = createPools({ controlUrl: db.url, clients: config.postgres_clients, log });
    // one SecretBox and client cache for the API, the console and the write paths, as in serve
    const backends = createBackendResolver({ config, pools, log });
    const { backendFor, clients } = backends;
    const app = createApp(
      createAppDeps({
        config,
        log,
        pools,
        migrationsDir: SQL_DIR,
        backends,
        metrics: createMetrics({ processMetrics: false }),
      }),
    );
    const engine = createEngine({ config, pools, log, owner: "console-test", backendFor });
    const scheduler = createScheduler({
      control: pools.control,
      engine,
      log,
      enabled: true,
      pollMs: 3_600_000,
      maxConcurrentRuns: 1,
    });
    const cdc = createCdcSupervisor({
      control: pools.control,
      pools,
      cdc: config.cdc,
      backendFor,
      log,
      instanceId: "console-test",
      pollMs: 200,
      streamOptions: { statsIntervalMs: 200 },
    });
    const stop = new AbortController();
    const url = await new Promise<string>((resolve, reject) => {
      const http = createHttpService({
        app,
        host: "127.0.0.1",
        port: 0,
        log,
        onListening: resolve,
      });
      st.done = Promise.all([
        http.run(stop.signal).catch(reject),
        scheduler.run(stop.signal),
        cdc.run(stop.signal),
      ]).finally(() => clients.close());
    });

    const key = await fetch(`${url}/admin/api-keys`, {
      method: "POST",
      headers: { "x-athena-key": ADMIN_KEY, "content-type": "application/json" },
      body: JSON.stringify({ name: "search only", rights: ["gateway.typesense_search"] }),
    });
    const searchKey = ((await key.json()) as { data: { api_key: string } }).data.api_key;
    Object.assign(st, { url, adminKey: ADMIN_KEY, searchKey, source, collection, pools, stop });
  });
  afterAll(async () => {
    st.stop?.abort();
    await st.done;
    await st.pools?.close();
    await st.source?.end();
    await dropSource?.();
  });
  const need = <K extends keyof ConsoleStack>(k: K): ConsoleStack[K] => {
    const v = st[k];
    if (v === undefined) throw new Error(`useConsoleStack: ${k} read before beforeAll`);
    return v as ConsoleStack[K];
  };
  return {
    get url() {
      return need("url");
    },
    get adminKey() {
      return need("adminKey");
    },
    get searchKey() {
      return need("searchKey");
    },
    get source() {
      return need("source");
    },
    get collection() {
      return need("collection");
    },
  };
}
