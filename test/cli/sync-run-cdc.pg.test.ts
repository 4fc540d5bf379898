import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEADER_LOCK_CLASS, leaderLockKey } from "../../src/cdc/leader.js";
import { runCli } from "../support/cli.js";
import { createDatabase, useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";

// `sync run <job>` with CDC enabled and a cdc_enabled job on the client: the
// CLI has no stream to bracket windows with, so it refuses (exit 5) while
// another instance leads the client's stream, and runs unbracketed (holding
// the client's leadership lock) when nobody does.
describe("sync run with CDC", () => {
  const db = useTestDatabase();
  const ts = useTypesense();
  let source: { url: string; drop: () => Promise<void> };
  let configFile: string;
  let jobId: string;
  let collection: string;

  beforeAll(async () => {
    source = await createDatabase("src");
    const s = new pg.Client({ connectionString: source.url });
    await s.connect();
    await s.query("create table books (id int primary key, title text not null)");
    await s.query("insert into books select g, 'Book ' || g from generate_series(1, 30) g");
    await s.end();
    collection = ts.uniqueName("books");
    const p = await db.pool.query<{ id: string }>(
      `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
       values ('ts', $1, $2, 'xxxx') returning id`,
      [ts.url, `plain:${ts.apiKey}`],
    );
    const j = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
         collection_name, document_id_column, queryable_fields, window_size, cdc_enabled)
       values ($1, 'app', 'books', $2, 'id', '{title}', 100, true) returning id`,
      [p.rows[0]!.id, collection],
    );
    jobId = j.rows[0]!.id;
    const dir = mkdtempSync(join(tmpdir(), "sync-cli-cdc-"));
    configFile = join(dir, "c.yaml");
    writeFileSync(
      configFile,
      `control_database_url: ${db.url}
postgres_clients:
  app:
    url: ${source.url}
auth:
  admin_key: "0123456789abcdef0123"
typesense:
  allow_http: true
cdc:
  enabled: true
log:
  level: warn
`,
    );
  });
  afterAll(async () => {
    await source?.drop();
  });

  it("exits 5, pointing to the HTTP run route, while another instance leads the client", async () => {
    await db.pool.query(
      `insert into typesense_cdc_streams (source_client_name, slot_name, publication_name,
         status, leader_instance)
       values ('app', 'athena_ts_app_test', 'athena_ts_app_test', 'streaming', 'other-host:42:abc')`,
    );
    // the other instance: a session holding the client's leadership advisory lock
    const leader = new pg.Client({ connectionString: db.url });
    await leader.connect();
    try {
      const got = await leader.query<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", [
        LEADER_LOCK_CLASS,
        leaderLockKey("app"),
      ]);
      expect(got.rows[0]?.ok).toBe(true);
      const r = await runCli(["sync", "run", jobId, "--config", configFile]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain(`POST /typesense/sync-jobs/${jobId}/run`);
      expect(r.stderr).toContain('source client "app"');
      expect(r.stderr).toContain("(other-host:42:abc)");
      // no run was started
      const runs = await db.pool.query("select 1 from typesense_sync_runs where job_id = $1", [
        jobId,
      ]);
      expect(runs.rowCount).toBe(0);
    } finally {
      await leader.end();
    }
  });

  it("runs unbracketed and exits 0 once nobody leads the client, releasing the lock after", async () => {
    const r = await runCli(["sync", "run", jobId, "--config", configFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain("running without CDC watermarks");
    expect(r.stderr).toMatch(/run [0-9a-f-]+ succeeded: 30 imported/);
    // the CLI's lock ended with it: another instance can lead now
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const got = await c.query<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", [
        LEADER_LOCK_CLASS,
        leaderLockKey("app"),
      ]);
      expect(got.rows[0]?.ok).toBe(true);
    } finally {
      await c.end();
    }
  });
});
