import pg from "pg";
import { describe, expect, it } from "vitest";
import { LEADER_LOCK_CLASS, leaderLockKey } from "../../src/cdc/leader.js";
import { runCli } from "../support/cli.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { useSyncCliFixture } from "./sync-fixture.js";

// `sync run <job>` with CDC enabled and a cdc_enabled job on the client: the
// CLI has no stream to bracket windows with, so it refuses (exit 5) while
// another instance leads the client's stream, and runs unbracketed (holding
// the client's leadership lock) when nobody does.
describe("sync run with CDC", () => {
  const db = useTestDatabase();
  const ts = useTypesense();
  const fx = useSyncCliFixture(db, ts, {
    columns: "id int primary key, title text not null",
    rows: "select g, 'Book ' || g from generate_series(1, 30) g",
    cdc: true,
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
      const r = await runCli(["sync", "run", fx.jobId, "--config", fx.configFile]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain(`POST /typesense/sync-jobs/${fx.jobId}/run`);
      expect(r.stderr).toContain('source client "app"');
      expect(r.stderr).toContain("(other-host:42:abc)");
      // no run was started
      const runs = await db.pool.query("select 1 from typesense_sync_runs where job_id = $1", [
        fx.jobId,
      ]);
      expect(runs.rowCount).toBe(0);
    } finally {
      await leader.end();
    }
  });

  it("runs unbracketed and exits 0 once nobody leads the client, releasing the lock after", async () => {
    const r = await runCli(["sync", "run", fx.jobId, "--config", fx.configFile]);
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
