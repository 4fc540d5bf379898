import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { backendConnection, createSecretBox } from "../../src/control/index.js";
import { createFullSyncEngine, type FullSyncEngine } from "../../src/fullsync/index.js";
import type { Logger } from "../../src/lifecycle/logger.js";
import { createTypesenseBackend } from "../../src/typesense/index.js";
import { createDatabase, type TestDatabase } from "../support/pg.js";
import type { TypesenseTarget } from "../support/typesense.js";
import { admin, jsonInit, type TestApp, useTestApp } from "./fixture.js";

export interface SyncedJob {
  readonly t: TestApp;
  readonly jobId: string;
  readonly backendId: string;
  readonly collection: string;
  /** admin-key JSON call; every response body is kept in `seen` */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Envelope }>;
  readonly seen: string[];
  /** the source database's URL (the `app` client) */
  readonly sourceUrl: string;
  /** the fixture's REAL full-sync engine (the one that made the first sync) */
  readonly engine: FullSyncEngine;
}
export type Envelope = {
  status: string;
  message: string;
  data: Record<string, unknown>;
  /** the error code of an error answer (docs/api.md) */
  code?: string;
  error?: unknown;
};

/** The source table of a synced job (default: `products`, 20 rows). */
export interface SyncedSource {
  table: string;
  /** Statements that create and fill `table` in the source database. */
  sql: string[];
  queryableFields: string[];
}

const PRODUCTS: SyncedSource = {
  table: "products",
  sql: [
    `create table products (id bigint primary key, title text not null, body text,
      category text not null, price numeric)`,
    `insert into products
      select i, case when i % 4 = 0 then 'Blue widget ' || i else 'Gadget ' || i end,
             'body of ' || i, case when i % 2 = 0 then 'tools' else 'toys' end, i * 1.5
        from generate_series(1, 20) i`,
  ],
  queryableFields: ["title", "body"],
};

/**
 * A source table (`products`, 20 rows, unless `opts.source` names another) in
 * its own database, the app with client "app" on it, a backend on the test
 * Typesense and a job synced by the REAL full-sync engine, all made through
 * the API in beforeAll. `opts.app` goes to useTestApp.
 */
export function useSyncedJob(
  db: TestDatabase,
  ts: TypesenseTarget,
  log: () => Logger,
  opts: {
    source?: SyncedSource;
    app?: Omit<NonNullable<Parameters<typeof useTestApp>[2]>, "clients">;
    /** A wave-1 job (live_version null): its first sync makes a plain collection, no alias. */
    wave1?: boolean;
  } = {},
): SyncedJob {
  const source = opts.source ?? PRODUCTS;
  const src: { url?: string; drop?: () => Promise<void> } = {};
  const st = { jobId: "", backendId: "", collection: "", engine: null as FullSyncEngine | null };
  const seen: string[] = [];
  beforeAll(async () => {
    const d = await createDatabase("src");
    Object.assign(src, d);
    const c = new pg.Client({ connectionString: d.url });
    await c.connect();
    for (const q of source.sql) await c.query(q);
    await c.end();
  });
  const t = useTestApp(db, log, { ...opts.app, clients: () => ({ app: src.url! }) });
  async function call(method: string, path: string, body?: unknown) {
    const res = await t.app.request(
      path,
      body === undefined ? { method, headers: admin } : jsonInit(method, body, admin),
    );
    const text = await res.text();
    seen.push(text);
    return { status: res.status, json: JSON.parse(text) as Envelope };
  }
  beforeAll(async () => {
    const b = await call("POST", "/typesense/backends", {
      name: "emu",
      base_url: ts.url,
      api_key: ts.apiKey,
      timeout_ms: 3000,
    });
    st.backendId = b.json.data.id as string;
    st.collection = ts.uniqueName(source.table);
    const j = await call("POST", "/typesense/sync-jobs", {
      profile_id: st.backendId,
      source_client_name: "app",
      source_table_name: source.table,
      collection_name: st.collection,
      document_id_column: "id",
      queryable_fields: source.queryableFields,
    });
    st.jobId = j.json.data.id as string;
    if (opts.wave1) {
      await db.pool.query("update typesense_sync_jobs set live_version = null where id = $1", [
        st.jobId,
      ]);
    }
    const box = createSecretBox("");
    const engine = createFullSyncEngine({
      control: db.pool,
      source: (n) => t.pools.source(n),
      backendFor: async (id) => createTypesenseBackend(await backendConnection(db.pool, box, id)),
      owner: "test",
      log: log(),
      importMaxAttempts: 2,
      importRetryBaseMs: 10,
      sagaBackupEnabled: true,
      leaseTtlMs: 30_000,
    });
    st.engine = engine;
    const r = await engine.runJob(st.jobId, { trigger: "manual" });
    if (r.status !== "succeeded") throw new Error(`fixture sync failed: ${r.error}`);
  });
  afterAll(async () => {
    await src.drop?.();
  });
  return {
    t,
    call,
    seen,
    get jobId() {
      return st.jobId;
    },
    get backendId() {
      return st.backendId;
    },
    get collection() {
      return st.collection;
    },
    get sourceUrl() {
      return src.url!;
    },
    get engine() {
      if (!st.engine) throw new Error("the fixture's engine exists after its beforeAll");
      return st.engine;
    },
  };
}
