import { describe, expect, it } from "vitest";
import { createControlSampler } from "../../src/metrics/control-sampler.js";
import { createMetrics } from "../../src/metrics/index.js";
import { insertJob } from "../fullsync/helpers.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";

describe("drift audit metrics", () => {
  const db = useTestDatabase();

  it("each job's last finished audit becomes drift, repaired, timestamp and success gauges", async () => {
    const m = createMetrics({ processMetrics: false });
    const jobId = await insertJob(db.pool, { collection: "c_audit_m", table: "t" });
    await db.pool.query(
      `insert into typesense_sync_audits (job_id, trigger, status, created_at, finished_at,
          missing_count, extra_count, differing_count, repaired_missing, repaired_extra, repaired_differing)
       values ($1, 'schedule', 'succeeded', now() - interval '2 days', now() - interval '2 days', 9, 9, 9, 0, 0, 0),
              ($1, 'manual', 'succeeded', now(), to_timestamp(1700000000), 2, 1, 3, 2, 1, 0)`,
      [jobId],
    );
    const ctl = new AbortController();
    const sampler = createControlSampler({
      control: db.pool,
      metrics: m,
      log: silentLogger(),
      intervalMs: 20,
    });
    const running = sampler.run(ctl.signal);
    let text = "";
    for (let i = 0; i < 200 && !text.includes("audit_last_success"); i++) {
      await new Promise((r) => setTimeout(r, 20));
      text = await m.registry.metrics();
    }
    ctl.abort();
    await running;
    const l = `job_id="${jobId}"`;
    expect(text).toContain(`athena_ts_audit_drift_documents{${l},kind="missing"} 2`);
    expect(text).toContain(`athena_ts_audit_drift_documents{${l},kind="extra"} 1`);
    expect(text).toContain(`athena_ts_audit_drift_documents{${l},kind="differing"} 3`);
    expect(text).toContain(`athena_ts_audit_repaired_documents{${l},kind="missing"} 2`);
    expect(text).toContain(`athena_ts_audit_repaired_documents{${l},kind="differing"} 0`);
    expect(text).toContain(`athena_ts_audit_last_timestamp_seconds{${l}} 1700000000`);
    expect(text).toContain(`athena_ts_audit_last_success{${l}} 1`);
  });
});
