import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli, waitForOutput } from "../support/cli.js";
import { createDatabase, useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";

const ADMIN = "graceful-admin-key-0123456789";
const ROWS = 3000;

// Issue 9 point 5: SIGTERM in the middle of a full sync lets the current window
// finish and checkpoint, exits 0, and the next start resumes the same run at its
// checkpoint with nothing lost.
describe("graceful shutdown of serve", () => {
  const db = useTestDatabase({ migrate: false });
  const ts = useTypesense();
  let source: { url: string; drop: () => Promise<void> };
  let configFile: string;

  beforeAll(async () => {
    source = await createDatabase("src");
    const s = new pg.Client({ connectionString: source.url });
    await s.connect();
    await s.query("create table notes (id int primary key, body text not null)");
    await s.query(
      `insert into notes select g, 'note number ' || g from generate_series(1, ${ROWS}) g`,
    );
    await s.end();
    const dir = mkdtempSync(join(tmpdir(), "graceful-"));
    configFile = join(dir, "c.yaml");
    writeFileSync(
      configFile,
      `control_database_url: ${db.url}
server:
  host: 127.0.0.1
  port: 0
postgres_clients:
  app:
    url: ${source.url}
auth:
  admin_key: "${ADMIN}"
typesense:
  allow_http: true
  # long poll: the run is started by the run route (NOTIFY), so the scheduler
  # cannot claim the new job first (which would make the route answer 409)
  sync_worker_poll_ms: 60000
cdc:
  enabled: false
`,
    );
  });
  afterAll(async () => {
    await source?.drop();
  });

  async function startServe(): Promise<{ child: ReturnType<typeof spawnCli>; url: string }> {
    const child = spawnCli(["serve", "--config", configFile]);
    const out = await waitForOutput(child, (o) => o.includes("http server listening"));
    const url = /"url":"(http:\/\/[^"]+)"/.exec(out)![1]!;
    return { child, url };
  }

  async function api(url: string, method: string, path: string, body?: unknown) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { "x-athena-key": ADMIN, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as { data: Record<string, unknown> };
    expect(res.status, JSON.stringify(json)).toBeLessThan(300);
    return json.data;
  }

  it("SIGTERM mid-run: exit 0 after the window's checkpoint; the next start resumes that run", async () => {
    // slow imports down so the run is surely in flight when SIGTERM arrives
    ts.emulator?.faults.addLatency({
      method: "POST",
      path: "/collections/*/documents/import",
      ms: 60,
    });
    const first = await startServe();
    const backend = await api(first.url, "POST", "/typesense/backends", {
      name: "ts",
      base_url: ts.url,
      api_key: ts.apiKey,
    });
    const collection = ts.uniqueName("notes");
    const job = await api(first.url, "POST", "/typesense/sync-jobs", {
      profile_id: backend.id,
      source_client_name: "app",
      source_table_name: "notes",
      collection_name: collection,
      document_id_column: "id",
      queryable_fields: ["body"],
      window_size: 100,
    });
    const run = await api(first.url, "POST", `/typesense/sync-jobs/${String(job.id)}/run`);
    const runId = String(run.run_id);
    // wait until a few windows are checkpointed
    for (let i = 0; i < 600; i++) {
      const r = await db.pool.query(
        "select next_manifest_seq from typesense_sync_runs where id = $1",
        [runId],
      );
      if (Number(r.rows[0]?.next_manifest_seq ?? 0) >= 300) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    first.child.kill("SIGTERM");
    const stopped = await first.child.result;
    expect(stopped.code, stopped.stderr).toBe(0);
    const mid = await db.pool.query(
      `select r.status, r.next_manifest_seq, r.manifest_processed_rows, j.lease_owner
         from typesense_sync_runs r join typesense_sync_jobs j on j.id = r.job_id where r.id = $1`,
      [runId],
    );
    const atStop = mid.rows[0];
    // interrupted, not failed: the run stays open at a window boundary and the lease is free
    expect(atStop.status).toBe("running");
    expect(atStop.lease_owner).toBeNull();
    const seq = Number(atStop.next_manifest_seq);
    expect(seq).toBeGreaterThan(0);
    expect(seq).toBeLessThan(ROWS);
    expect(seq % 100).toBe(0);
    // every checkpointed row is really in Typesense (write -> checkpoint)
    const found = await ts.client
      .collections(collection)
      .documents()
      .search({ q: "*", per_page: 1 });
    expect(found.found).toBeGreaterThanOrEqual(seq);

    ts.emulator?.faults.clear();
    const importsBefore = ts.emulator?.stats().importRequests ?? 0;
    const second = await startServe();
    let status = "";
    try {
      for (let i = 0; i < 600 && status !== "succeeded" && status !== "failed"; i++) {
        const r = await db.pool.query("select status from typesense_sync_runs where id = $1", [
          runId,
        ]);
        status = String(r.rows[0]?.status);
        if (status !== "succeeded") await new Promise((res) => setTimeout(res, 100));
      }
    } finally {
      second.child.kill("SIGTERM");
    }
    // asserted after the stop, with the second serve's last log lines: a resume
    // that did not finish must say so (not an exit code the kill caused)
    const done = await second.child.result;
    const tail = (done.stdout + done.stderr).slice(-4000);
    expect(status, tail).toBe("succeeded");
    expect(done.code, tail).toBe(0);
    const runs = await db.pool.query(
      "select id, resume_attempt_count, manifest_processed_rows from typesense_sync_runs where job_id = $1",
      [String(job.id)],
    );
    expect(runs.rows).toHaveLength(1);
    expect(runs.rows[0].resume_attempt_count).toBe(1);
    expect(Number(runs.rows[0].manifest_processed_rows)).toBe(ROWS);
    // resumed at the checkpoint: only the remaining windows were imported
    if (ts.emulator) {
      expect(ts.emulator.stats().importRequests - importsBefore).toBe((ROWS - seq) / 100);
    }
    const all = await ts.client.collections(collection).documents().search({ q: "*", per_page: 1 });
    expect(all.found).toBe(ROWS);
  });
});
