import pg from "pg";
import { afterAll, beforeAll, expect } from "vitest";
import { describeTable } from "../../src/catalog/index.js";
import { createDocumentMapper, quoteIdent } from "../../src/documents/index.js";
import { FAULT_BODIES } from "../../src/emulator/index.js";
import { createFullSyncEngine, type FullSyncEngineOptions } from "../../src/fullsync/index.js";
import {
  createTypesenseBackend,
  type Document,
  type TypesenseBackend,
} from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";
import { createDatabase, useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";

/** A separate source database for the calling test file. */
export function useSourceDatabase(): { readonly pool: pg.Pool; readonly url: string } {
  const state: { pool?: pg.Pool; url?: string; drop?: () => Promise<void> } = {};
  beforeAll(async () => {
    const db = await createDatabase("src");
    state.url = db.url;
    state.drop = db.drop;
    state.pool = new pg.Pool({ connectionString: db.url, max: 6 });
  });
  afterAll(async () => {
    await state.pool?.end();
    await state.drop?.();
  });
  return {
    get pool() {
      if (!state.pool) throw new Error("source pool used outside a test");
      return state.pool;
    },
    get url() {
      if (!state.url) throw new Error("source url used outside a test");
      return state.url;
    },
  };
}

/** A table with a mix of mapped types; rows 1..n. */
export async function createProducts(source: pg.Pool, table: string, n: number): Promise<void> {
  await source.query(`create table ${quoteIdent(table)} (
    id bigint primary key, name text not null, price numeric(10,2), qty int4, big int8,
    rating float8, active bool, tags text[], meta jsonb, created timestamptz, note text)`);
  await source.query(
    `insert into ${quoteIdent(table)}
     select g, 'product ' || g, (g * 1.25)::numeric(10,2), g % 1000,
            case when g % 10 = 0 then 9007199254740992 + 2 * g else g end,
            g / 3.0, g % 2 = 0, array['t' || (g % 5), 'all'],
            jsonb_build_object('k', g, 'nested', jsonb_build_object('s', 'x' || g)),
            timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => g),
            case when g % 3 = 0 then null else 'note ' || g end
       from generate_series(1, $1) g`,
    [n],
  );
}

/** Every row of the table as the mapper converts it, by id. */
export async function tableDocuments(
  source: pg.Pool,
  table: string,
  idColumn = "id",
): Promise<Map<string, Document>> {
  const info = await describeTable(source, { schema: "public", table });
  const mapper = createDocumentMapper(info, {
    documentIdColumn: idColumn,
    includedColumns: [],
    queryableFields: [],
  });
  const r = await source.query<Record<string, string | null>>(
    `select ${mapper.selectList} from public.${quoteIdent(table)}`,
  );
  return new Map(r.rows.map((row) => [row[idColumn]!, mapper.rowToDocument(row)]));
}

export async function collectionDocuments(
  backend: TypesenseBackend,
  collection: string,
): Promise<Map<string, Document>> {
  const docs = await backend.exportDocuments(collection);
  return new Map(docs.map((d) => [d.id, d]));
}

/** Asserts the collection holds exactly the table's documents. */
export async function expectCollectionEqualsTable(
  backend: TypesenseBackend,
  collection: string,
  source: pg.Pool,
  table: string,
): Promise<void> {
  const want = await tableDocuments(source, table);
  const got = await collectionDocuments(backend, collection);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [id, doc] of want) expect(got.get(id), `doc ${id}`).toEqual(doc);
}

export async function runRows(control: pg.Pool, jobId: string) {
  const r = await control.query<Record<string, unknown>>(
    "select * from typesense_sync_runs where job_id = $1 order by created_at",
    [jobId],
  );
  return r.rows;
}

/**
 * What the engine tests share: control DB, source DB, Typesense (emulator or
 * real), one backend, and an engine factory with test defaults (fast retries,
 * saga on, one window in flight because the tests' hooks inject faults for
 * "the next window").
 */
export function useEngineFixture(defaults: Partial<FullSyncEngineOptions> & { owner: string }) {
  const db = useTestDatabase();
  const source = useSourceDatabase();
  const ts = useTypesense();
  let backend: TypesenseBackend | undefined;
  beforeAll(() => {
    backend = createTypesenseBackend({ nodes: [ts.url], apiKey: ts.apiKey, timeoutMs: 20_000 });
  });
  afterAll(async () => {
    await backend?.close();
  });
  const theBackend = () => {
    if (!backend) throw new Error("backend used outside a test");
    return backend;
  };
  return {
    db,
    source,
    ts,
    get backend() {
      return theBackend();
    },
    engine(over: Partial<FullSyncEngineOptions> = {}) {
      return createFullSyncEngine({
        control: db.pool,
        source: () => source.pool,
        backendFor: async () => theBackend(),
        log: silentLogger(),
        importMaxAttempts: 3,
        importRetryBaseMs: 1,
        sagaBackupEnabled: true,
        leaseTtlMs: 30_000,
        maxWindowsInFlight: 1,
        ...defaults,
        ...over,
      });
    },
    /** The emulator's next `times` imports answer 503 Not Ready (retryable). */
    failNextImports(times: number) {
      if (!ts.emulator) throw new Error("fault injection needs the embedded emulator");
      ts.emulator.faults.failNext({
        method: "POST",
        path: "/collections/*/documents/import",
        status: 503,
        body: FAULT_BODIES.notReady,
        times,
      });
    },
  };
}
