import type pg from "pg";
import type { Checkpoint } from "../../src/cdc/applier.js";
import { createCdcStream } from "../../src/cdc/stream.js";
import type { Config } from "../../src/config/index.js";
import type { WatermarkRegistry } from "../../src/coordination/watermarks.js";
import type { Logger } from "../../src/lifecycle/logger.js";
import { createTypesenseBackend, type TypesenseBackend } from "../../src/typesense/index.js";
import type { Document } from "../../src/typesense/types.js";

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  ms = 30_000,
): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > ms) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function cdcConfig(over: Partial<Config["cdc"]> = {}): Config["cdc"] {
  return {
    enabled: true,
    plugin: "pgoutput",
    slot_prefix: "t_cdc",
    flush_max_docs: 1000,
    flush_interval_ms: 20,
    heartbeat_ms: 300,
    park_after_ms: 60_000,
    park_probe_ms: 5000,
    ready_max_unhealthy_ms: 60_000,
    ...over,
  };
}

/** Inserts a backend profile pointing at `url` (key stored as plain:). */
export async function insertProfile(
  control: pg.Pool,
  url: string,
  apiKey: string,
): Promise<string> {
  const r = await control.query<{ id: string }>(
    `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
     values ('p_' || substr(md5(random()::text), 1, 8), $1, $2, right($3, 4)) returning id`,
    [url, `plain:${apiKey}`, apiKey],
  );
  return r.rows[0]!.id;
}

export async function insertJob(
  control: pg.Pool,
  j: {
    profileId: string;
    client: string;
    table: string;
    collection: string;
    idColumn?: string;
    included?: string[];
    schema?: string;
    cdc?: boolean;
    /** A document spec (stored as is: the API's validation is not run here). */
    document?: unknown;
  },
): Promise<string> {
  const r = await control.query<{ id: string }>(
    `insert into typesense_sync_jobs (profile_id, source_client_name, source_schema_name,
       source_table_name, collection_name, document_id_column, included_columns, cdc_enabled,
       document)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
    [
      j.profileId,
      j.client,
      j.schema ?? "public",
      j.table,
      j.collection,
      j.idColumn ?? "id",
      j.included ?? [],
      j.cdc ?? true,
      j.document === undefined ? null : JSON.stringify(j.document),
    ],
  );
  return r.rows[0]!.id;
}

export function backendFor(url: string, apiKey: string): TypesenseBackend {
  return createTypesenseBackend({ nodes: [url], apiKey, timeoutMs: 5000 });
}

/** Every document of a collection by id ([] when it does not exist). */
export async function docsOf(
  b: TypesenseBackend,
  collection: string,
): Promise<Map<string, Document>> {
  if (!(await b.getCollection(collection))) return new Map();
  const docs = await b.exportDocuments(collection);
  return new Map(docs.map((d) => [d.id, d]));
}

export interface RunningStream {
  checkpoints: Checkpoint[];
  stop(): Promise<void>;
  done: Promise<void>;
}

export function runStream(o: {
  control: pg.Pool;
  source: pg.Pool;
  sourceUrl: string;
  client: string;
  backend: TypesenseBackend;
  /** Backend by profile id (the real wiring's resolver); default: `backend` for every profile. */
  backendFor?: (profileId: string) => Promise<TypesenseBackend>;
  log: Logger;
  cdc?: Partial<Config["cdc"]>;
  watermarks?: WatermarkRegistry;
  resyncs?: string[];
  fanoutPageSize?: number;
  /** Default 200 ms. */
  jobsPollMs?: number;
}): RunningStream {
  const checkpoints: Checkpoint[] = [];
  const ctl = new AbortController();
  const stream = createCdcStream({
    clientName: o.client,
    control: o.control,
    source: o.source,
    sourceUrl: o.sourceUrl,
    cdc: cdcConfig(o.cdc),
    backendFor: o.backendFor ?? (async () => o.backend),
    watermarks: o.watermarks,
    fanoutPageSize: o.fanoutPageSize,
    log: o.log,
    instanceId: "test",
    jobsPollMs: o.jobsPollMs ?? 200,
    statsIntervalMs: 100,
    keepaliveMs: 1000,
    backoff: { baseMs: 20, maxMs: 300 },
    requestResync: async (jobId) => {
      o.resyncs?.push(jobId);
    },
    onCheckpoint: (c) => checkpoints.push(c),
  });
  const done = stream.run(ctl.signal);
  return {
    checkpoints,
    done,
    stop: async () => {
      ctl.abort();
      await done;
    },
  };
}

export async function streamRow(control: pg.Pool, client: string) {
  const r = await control.query<{
    status: string;
    confirmed_lsn: string | null;
    last_error: string | null;
    lag_ms: string | null;
    retained_wal_bytes: string | null;
    changes_applied: string;
    leader_instance: string | null;
  }>("select * from typesense_cdc_streams where source_client_name = $1", [client]);
  return r.rows[0];
}
