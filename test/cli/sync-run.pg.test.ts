import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { useSyncCliFixture } from "./sync-fixture.js";

// `athena-typesense-sync sync run <job>`: the same engine as the scheduler, in
// the foreground, with progress lines when stderr is not a terminal.
describe("sync run", () => {
  const db = useTestDatabase();
  const ts = useTypesense();
  const fx = useSyncCliFixture(db, ts, {
    columns: "id int primary key, title text not null, year int",
    rows: "select g, 'Book ' || g, 1900 + g % 100 from generate_series(1, 250) g",
  });

  it("runs a job to the end, printing each window, and exits 0", async () => {
    const r = await runCli(["sync", "run", fx.jobId, "--config", fx.configFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("window 0..100: 100 imported, 0 unchanged, 0 failed");
    expect(r.stderr).toMatch(/run [0-9a-f-]+ succeeded: 250 imported, 0 unchanged, 0 failed/);
    const found = await ts.client
      .collections(fx.collection)
      .documents()
      .search({ q: "*", per_page: 1 });
    expect(found.found).toBe(250);
    const job = await db.pool.query(
      "select last_sync_status, last_source_row_count from typesense_sync_jobs where id = $1",
      [fx.jobId],
    );
    expect(job.rows[0]).toEqual({ last_sync_status: "succeeded", last_source_row_count: "250" });
    // a second run finds nothing to rewrite
    const again = await runCli(["sync", "run", fx.jobId, "--config", fx.configFile]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/succeeded: 0 imported, 250 unchanged/);
  });

  it("exits 3 while another holder has the lease, 4 for an unknown job, 2 on bad usage", async () => {
    await db.pool.query(
      "update typesense_sync_jobs set lease_owner = 'other', lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute' where id = $1",
      [fx.jobId],
    );
    const held = await runCli(["sync", "run", fx.jobId, "--config", fx.configFile]);
    expect(held.code).toBe(3);
    expect(held.stderr).toContain("already running");
    await db.pool.query(
      "update typesense_sync_jobs set lease_owner = null, lease_token = null, lease_expires_at = null where id = $1",
      [fx.jobId],
    );
    const unknown = await runCli([
      "sync",
      "run",
      "00000000-0000-4000-8000-000000000000",
      "--config",
      fx.configFile,
    ]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain("not found");
    const usage = await runCli(["sync", "go", "--config", fx.configFile]);
    expect(usage.code).toBe(2);
  });
});
