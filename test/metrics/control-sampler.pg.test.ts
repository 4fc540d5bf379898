import { describe, expect, it } from "vitest";
import { createControlSampler } from "../../src/metrics/control-sampler.js";
import { createMetrics } from "../../src/metrics/index.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";

describe("control sampler", () => {
  const db = useTestDatabase();

  it("turns stream rows and run counters into Prometheus metrics", async () => {
    const m = createMetrics({ processMetrics: false });
    const profile = await db.pool.query<{ id: string }>(
      `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
       values ('p', 'https://x', 'plain:k', 'k') returning id`,
    );
    const job = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
         collection_name, document_id_column) values ($1, 'app', 't', 'c', 'id') returning id`,
      [profile.rows[0]!.id],
    );
    const jobId = job.rows[0]!.id;
    await db.pool.query(
      `insert into typesense_cdc_streams (source_client_name, slot_name, publication_name, status,
         lag_ms, retained_wal_bytes, changes_applied)
       values ('app', 's', 'p', 'streaming', 42, 4096, 10)`,
    );
    const ctl = new AbortController();
    const sampler = createControlSampler({
      control: db.pool,
      metrics: m,
      log: silentLogger(),
      intervalMs: 20,
    });
    const running = sampler.run(ctl.signal);
    const text = () => m.registry.metrics();
    const until = async (pred: (t: string) => boolean) => {
      for (let i = 0; i < 200; i++) {
        const t = await text();
        if (pred(t)) return t;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`metrics never matched:\n${await text()}`);
    };
    await until((t) => t.includes('athena_ts_cdc_lag_seconds{client="app"} 0.042'));
    const t1 = await text();
    expect(t1).toContain('athena_ts_slot_retained_wal_bytes{client="app"} 4096');
    expect(t1).toContain('athena_ts_cdc_stream_state{client="app",state="streaming"} 1');

    const run = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_runs (job_id, trigger, status, stage) values ($1, 'manual', 'running', 'windows') returning id`,
      [jobId],
    );
    await db.pool.query(
      `update typesense_sync_runs set manifest_processed_rows = 300, imported_count = 250,
         unchanged_count = 50, retry_attempt_count = 2, updated_at = now() where id = $1`,
      [run.rows[0]!.id],
    );
    await db.pool.query(
      "update typesense_cdc_streams set changes_applied = 25, updated_at = now()",
    );
    await db.pool.query(
      `insert into typesense_dead_letters (job_id, origin, doc_id, operation, error_message)
       values ($1, 'full_sync', '9', 'upsert', 'bad')`,
      [jobId],
    );
    await until((t) => t.includes(`athena_ts_sync_rows_total{job_id="${jobId}"} 300`));
    await db.pool.query(
      "update typesense_sync_runs set status = 'failed', stage = 'finished', rollback_status = 'succeeded', finished_at = now(), updated_at = now() where id = $1",
      [run.rows[0]!.id],
    );
    const t2 = await until((t) => t.includes(`athena_ts_sync_runs_total{job_id="${jobId}"`));
    ctl.abort();
    await running;
    expect(t2).toContain(`athena_ts_sync_runs_total{job_id="${jobId}",outcome="rolled_back"} 1`);
    expect(t2).toContain(`athena_ts_sync_rollbacks_total{job_id="${jobId}",status="succeeded"} 1`);
    expect(t2).toContain(`athena_ts_sync_documents_total{job_id="${jobId}",result="imported"} 250`);
    expect(t2).toContain(`athena_ts_import_retries_total{job_id="${jobId}",origin="full_sync"} 2`);
    // CDC changes come from the streams themselves, by operation (test/metrics/dashboard.pg.test.ts)
    expect(t2).not.toContain("athena_ts_cdc_changes_total{");
    expect(t2).toContain(`athena_ts_dead_letters_total{job_id="${jobId}",origin="full_sync"} 1`);
  });

  it("counts a dead letter whose transaction began before a sample and committed after it, and each later attempt", async () => {
    const m = createMetrics({ processMetrics: false });
    const profile = await db.pool.query<{ id: string }>(
      `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
       values ('p2', 'https://x', 'plain:k', 'k') returning id`,
    );
    const job = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_jobs (profile_id, source_client_name, source_table_name,
         collection_name, document_id_column) values ($1, 'app2', 't', 'c2', 'id') returning id`,
      [profile.rows[0]!.id],
    );
    const jobId = job.rows[0]!.id;
    const ctl = new AbortController();
    const sampler = createControlSampler({
      control: db.pool,
      metrics: m,
      log: silentLogger(),
      intervalMs: 20,
    });
    const running = sampler.run(ctl.signal);
    const series = `athena_ts_dead_letters_total{job_id="${jobId}",origin="cdc"}`;
    const until = async (want: string) => {
      for (let i = 0; i < 200; i++) {
        if ((await m.registry.metrics()).includes(want)) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`metrics never showed ${want}:\n${await m.registry.metrics()}`);
    };
    const tx = await db.pool.connect();
    try {
      // last_failed_at = now() = the transaction's start, long before its commit
      await tx.query("begin");
      await tx.query(
        `insert into typesense_dead_letters (job_id, origin, doc_id, operation, error_message)
         values ($1, 'cdc', '7', 'upsert', 'bad')`,
        [jobId],
      );
      // several samples pass while the letter is not committed yet
      await new Promise((r) => setTimeout(r, 200));
      await tx.query("commit");
    } finally {
      tx.release();
    }
    await until(`${series} 1`);
    await db.pool.query(
      "update typesense_dead_letters set attempts = attempts + 1, last_failed_at = now() where job_id = $1",
      [jobId],
    );
    await until(`${series} 2`);
    ctl.abort();
    await running;
  });
});
