import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { createDatabase, type TestDatabase } from "../support/pg.js";
import type { TypesenseTarget } from "../support/typesense.js";

export interface SyncCliFixture {
  /** The job bound to `app.books`, its collection and the CLI config file. */
  readonly jobId: string;
  readonly collection: string;
  readonly configFile: string;
  readonly sourceUrl: string;
}

/**
 * The setup `sync run` tests share: a source database with a `books` table
 * (`columns` and `rows` are SQL), one profile + job (window 100) in the control
 * database, and a YAML config pointing the CLI at both. `cdc` turns on CDC in
 * the config and `cdc_enabled` on the job.
 */
export function useSyncCliFixture(
  db: TestDatabase,
  ts: TypesenseTarget,
  opts: { columns: string; rows: string; cdc?: boolean },
): SyncCliFixture {
  const state: { -readonly [K in keyof SyncCliFixture]?: SyncCliFixture[K] } & {
    drop?: () => Promise<void>;
  } = {};
  beforeAll(async () => {
    const source = await createDatabase("src");
    state.sourceUrl = source.url;
    state.drop = source.drop;
    const s = new pg.Client({ connectionString: source.url });
    await s.connect();
    await s.query(`create table books (${opts.columns})`);
    await s.query(`insert into books ${opts.rows}`);
    await s.end();
    state.collection = ts.uniqueName("books");
    const p = await db.pool.query<{ id: string }>(
      `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
       values ('ts', $1, $2, 'xxxx') returning id`,
      [ts.url, `plain:${ts.apiKey}`],
    );
    const j = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
         collection_name, document_id_column, queryable_fields, window_size, cdc_enabled)
       values ($1, 'app', 'books', $2, 'id', '{title}', 100, $3) returning id`,
      [p.rows[0]!.id, state.collection, opts.cdc ?? false],
    );
    state.jobId = j.rows[0]!.id;
    state.configFile = join(mkdtempSync(join(tmpdir(), "sync-cli-")), "c.yaml");
    writeFileSync(
      state.configFile,
      `control_database_url: ${db.url}
postgres_clients:
  app:
    url: ${source.url}
auth:
  admin_key: "0123456789abcdef0123"
typesense:
  allow_http: true
${opts.cdc ? "cdc:\n  enabled: true\n" : ""}log:
  level: warn
`,
    );
  });
  afterAll(async () => {
    await state.drop?.();
  });
  const get = <K extends keyof SyncCliFixture>(k: K): SyncCliFixture[K] => {
    const v = state[k];
    if (v === undefined) throw new Error(`sync CLI fixture: ${k} used outside a test`);
    return v as SyncCliFixture[K];
  };
  return {
    get jobId() {
      return get("jobId");
    },
    get collection() {
      return get("collection");
    },
    get configFile() {
      return get("configFile");
    },
    get sourceUrl() {
      return get("sourceUrl");
    },
  };
}
