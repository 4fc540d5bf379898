import { describe, expect, it } from "vitest";
import { updateStreamRow } from "../../src/cdc/stream-store.js";
import { useTestDatabase } from "../support/pg.js";

// The view's freshness logic on real rows: is_stale and sync_health
// (disabled > running > failing > degraded > never_synced > stale > healthy).
describe("typesense_sync_job_status", () => {
  const db = useTestDatabase();

  async function profile(): Promise<string> {
    const r = await db.pool.query<{ id: string }>(
      `insert into typesense_profiles (name, base_url, api_key_stored, api_key_last4)
       values ('p' || gen_random_uuid(), 'https://ts.example', 'plain:xyz1', 'xyz1') returning id`,
    );
    return r.rows[0]!.id;
  }

  async function job(fields: Record<string, unknown>): Promise<string> {
    const base: Record<string, unknown> = {
      profile_id: await profile(),
      source_client_name: "app",
      source_table_name: "items",
      collection_name: `c_${Math.random().toString(36).slice(2)}`,
      document_id_column: "id",
      stale_after_seconds: 600,
      ...fields,
    };
    const cols = Object.keys(base);
    const r = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_jobs (${cols.join(",")})
       values (${cols.map((_, i) => `$${i + 1}`).join(",")}) returning id`,
      Object.values(base),
    );
    return r.rows[0]!.id;
  }

  async function status(id: string): Promise<{ is_stale: boolean; sync_health: string }> {
    const r = await db.pool.query(
      "select is_stale, sync_health from typesense_sync_job_status where id = $1",
      [id],
    );
    return r.rows[0];
  }

  const ago = (s: number) => new Date(Date.now() - s * 1000);

  it("never synced: stale and never_synced", async () => {
    expect(await status(await job({}))).toEqual({ is_stale: true, sync_health: "never_synced" });
  });

  it("recent success: healthy and fresh", async () => {
    const id = await job({ last_synced_at: ago(10), last_sync_status: "succeeded" });
    expect(await status(id)).toEqual({ is_stale: false, sync_health: "healthy" });
  });

  it("success older than stale_after_seconds: stale", async () => {
    const id = await job({ last_synced_at: ago(601), last_sync_status: "succeeded" });
    expect(await status(id)).toEqual({ is_stale: true, sync_health: "stale" });
  });

  it("last run failed: failing, even when the last success is recent", async () => {
    const id = await job({ last_synced_at: ago(5), last_sync_status: "failed" });
    expect(await status(id)).toEqual({ is_stale: false, sync_health: "failing" });
  });

  it("disabled wins over everything and is never stale", async () => {
    const id = await job({ enabled: false, last_sync_status: "failed" });
    expect(await status(id)).toEqual({ is_stale: false, sync_health: "disabled" });
  });

  it("a live lease or a running run reads as running; an expired lease does not", async () => {
    const leased = await job({
      lease_owner: "x",
      lease_expires_at: new Date(Date.now() + 60_000),
      last_sync_status: "failed",
    });
    expect((await status(leased)).sync_health).toBe("running");
    const expired = await job({
      lease_owner: "x",
      lease_expires_at: ago(1),
      last_synced_at: ago(1),
      last_sync_status: "succeeded",
    });
    expect((await status(expired)).sync_health).toBe("healthy");
    const withRun = await job({});
    await db.pool.query(
      "insert into typesense_sync_runs (job_id, trigger, status, stage) values ($1, 'manual', 'running', 'windows')",
      [withRun],
    );
    expect((await status(withRun)).sync_health).toBe("running");
  });

  it("the latest run's fields are joined", async () => {
    const id = await job({});
    await db.pool.query(
      `insert into typesense_sync_runs (job_id, trigger, status, stage, created_at, finished_at)
       values ($1, 'schedule', 'failed', 'finished', now() - interval '1 hour', now() - interval '1 hour')`,
      [id],
    );
    const r2 = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_runs (job_id, trigger, status, stage, progress_total_kind, manifest_total_rows)
       values ($1, 'manual', 'queued', 'queued', 'estimated', 42) returning id`,
      [id],
    );
    const r = await db.pool.query(
      "select latest_run_id, latest_run_status, latest_run_progress_total_kind, latest_run_manifest_total_rows from typesense_sync_job_status where id = $1",
      [id],
    );
    expect(r.rows[0]).toEqual({
      latest_run_id: r2.rows[0]!.id,
      latest_run_status: "queued",
      latest_run_progress_total_kind: "estimated",
      latest_run_manifest_total_rows: "42",
    });
  });

  it("CDC keeps a synced job fresh while its stream is streaming; an errored stream is failing", async () => {
    const id = await job({
      source_client_name: "cdc_client",
      cdc_enabled: true,
      last_synced_at: ago(3600),
      last_sync_status: "succeeded",
    });
    expect(await status(id)).toEqual({ is_stale: true, sync_health: "stale" });
    await db.pool.query(
      `insert into typesense_cdc_streams (source_client_name, slot_name, publication_name, status, last_message_at)
       values ('cdc_client', 'slot_cdc_client', 'pub', 'streaming', now())`,
    );
    expect(await status(id)).toEqual({ is_stale: false, sync_health: "healthy" });
    await db.pool.query(
      "update typesense_cdc_streams set status = 'error' where source_client_name = 'cdc_client'",
    );
    expect(await status(id)).toEqual({ is_stale: true, sync_health: "failing" });
  });

  async function finishedRun(
    jobId: string,
    counts: { imported: number; unchanged: number; failed: number },
  ) {
    await db.pool.query(
      `insert into typesense_sync_runs (job_id, trigger, status, stage, finished_at,
         imported_count, unchanged_count, failed_count)
       values ($1, 'manual', 'succeeded', 'finished', now(), $2, $3, $4)`,
      [jobId, counts.imported, counts.unchanged, counts.failed],
    );
  }
  const synced = { last_synced_at: ago(10), last_sync_status: "succeeded" };

  it("a run that failed some rows is degraded, not healthy", async () => {
    const id = await job(synced);
    await finishedRun(id, { imported: 10, unchanged: 0, failed: 2 });
    expect(await status(id)).toEqual({ is_stale: false, sync_health: "degraded" });
  });

  it("a run that wrote nothing while rows failed is failing", async () => {
    const id = await job(synced);
    await finishedRun(id, { imported: 0, unchanged: 0, failed: 3 });
    expect(await status(id)).toEqual({ is_stale: false, sync_health: "failing" });
  });

  it("open dead letters make a job degraded until they are resolved", async () => {
    const id = await job(synced);
    await finishedRun(id, { imported: 10, unchanged: 0, failed: 0 });
    expect((await status(id)).sync_health).toBe("healthy");
    await db.pool.query(
      `insert into typesense_dead_letters (job_id, origin, doc_id, operation, error_message)
       values ($1, 'cdc', '7', 'upsert', 'bad field')`,
      [id],
    );
    const r = await db.pool.query(
      "select sync_health, open_dead_letters from typesense_sync_job_status where id = $1",
      [id],
    );
    expect(r.rows[0]).toEqual({ sync_health: "degraded", open_dead_letters: "1" });
    await db.pool.query("update typesense_dead_letters set status = 'resolved' where job_id = $1", [
      id,
    ]);
    expect((await status(id)).sync_health).toBe("healthy");
  });

  it("a parked CDC job is failing and its status names the error", async () => {
    const id = await job({
      ...synced,
      cdc_enabled: true,
      cdc_parked_at: new Date(),
      cdc_parked_error: "upsert 3 into c: 401 Forbidden",
    });
    const r = await db.pool.query(
      "select sync_health, cdc_parked_error from typesense_sync_job_status where id = $1",
      [id],
    );
    expect(r.rows[0]).toEqual({
      sync_health: "failing",
      cdc_parked_error: "upsert 3 into c: 401 Forbidden",
    });
  });

  it("a stream in backoff is degraded for its first minute and failing after", async () => {
    const id = await job({ ...synced, source_client_name: "bo_client", cdc_enabled: true });
    await db.pool.query(
      `insert into typesense_cdc_streams (source_client_name, slot_name, publication_name, status,
         last_message_at, status_changed_at)
       values ('bo_client', 'slot_bo', 'pub', 'backoff', now(), now() - interval '10 seconds')`,
    );
    expect((await status(id)).sync_health).toBe("degraded");
    await db.pool.query(
      `update typesense_cdc_streams set status_changed_at = now() - interval '61 seconds'
        where source_client_name = 'bo_client'`,
    );
    expect((await status(id)).sync_health).toBe("failing");
  });

  it("a stream's status_changed_at moves when its status changes, not when the same status is reported again", async () => {
    await db.pool.query(
      `insert into typesense_cdc_streams (source_client_name, slot_name, publication_name, status,
         status_changed_at)
       values ('sc_client', 'slot_sc', 'pub', 'streaming', now() - interval '1 hour')`,
    );
    const changedAt = async () =>
      (
        await db.pool.query<{ t: Date }>(
          "select status_changed_at as t from typesense_cdc_streams where source_client_name = 'sc_client'",
        )
      ).rows[0]!.t.getTime();
    const start = await changedAt();
    await updateStreamRow(db.pool, "sc_client", { status: "streaming", lagMs: 5 });
    expect(await changedAt()).toBe(start);
    await updateStreamRow(db.pool, "sc_client", { status: "backoff", error: "down" });
    const backoffSince = await changedAt();
    expect(backoffSince).toBeGreaterThan(start + 3_000_000);
    await updateStreamRow(db.pool, "sc_client", { status: "backoff", error: "still down" });
    await updateStreamRow(db.pool, "sc_client", { lagMs: 100 });
    expect(await changedAt()).toBe(backoffSince);
  });

  it("constraints reject bad enums and non-positive intervals, and a second open run", async () => {
    await expect(job({ sync_interval_seconds: 0 })).rejects.toThrow(/check constraint/);
    await expect(job({ stale_after_seconds: -1 })).rejects.toThrow(/check constraint/);
    await expect(job({ last_sync_status: "weird" })).rejects.toThrow(/check constraint/);
    const id = await job({});
    await db.pool.query("insert into typesense_sync_runs (job_id, trigger) values ($1, 'manual')", [
      id,
    ]);
    await expect(
      db.pool.query("insert into typesense_sync_runs (job_id, trigger) values ($1, 'schedule')", [
        id,
      ]),
    ).rejects.toThrow(/typesense_sync_runs_one_open_idx/);
    await expect(
      db.pool.query("insert into typesense_sync_runs (job_id, trigger) values ($1, 'cron')", [id]),
    ).rejects.toThrow(/check constraint/);
  });
});
