import { beforeAll, describe, expect, it } from "vitest";
import { admin } from "../http/fixture.js";
import { useSyncedJob } from "../http/synced-job.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { formInit, signIn, unescapeHtml } from "./forms.js";

/*
 * The job card's Rebuild button (a confirm page, then a CSRF-checked form
 * that calls POST /typesense/sync-jobs/{job_id}/rebuild), and a rebuild's
 * step, reason, versions, windows and keep period in the API's runs and
 * status answers and on the status page (issue 16 points 2, 3).
 */

const db = useTestDatabase();
const ts = useTypesense();
// a wave-1 job: its first rebuild migrates the plain collection (the confirm text says so)
const f = useSyncedJob(db, ts, silentLogger, { wave1: true });

let s: { cookie: string; csrf: string };
beforeAll(async () => {
  s = await signIn(f.t.app, admin["X-Athena-Key"]);
});

const page = async (path: string) => {
  const res = await f.t.app.request(path, { headers: { cookie: s.cookie } });
  return { status: res.status, text: unescapeHtml(await res.text()) };
};
const rebuildRuns = async () =>
  (
    await db.pool.query<{ id: string; rebuild_reason: string }>(
      "select id, rebuild_reason from typesense_sync_runs where job_id = $1 and trigger = 'rebuild' order by created_at",
      [f.jobId],
    )
  ).rows;

describe("the console's Rebuild button", () => {
  it("the job card links a confirm page; its form needs the session's CSRF token, then queues a manual rebuild shown on the card", async () => {
    const status = await page("/console/status");
    expect(status.text).toContain(`href="/console/jobs/${f.jobId}/rebuild"`);
    const confirm = await page(`/console/jobs/${f.jobId}/rebuild`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain("Searches keep reading its plain collection until the swap");
    expect(confirm.text).toContain(`action="/console/jobs/${f.jobId}/rebuild"`);
    expect(confirm.text).toContain(`name="_csrf" value="${s.csrf}"`);

    const forged = await f.t.app.request(
      `/console/jobs/${f.jobId}/rebuild`,
      formInit({ _csrf: "forged" }, { cookie: s.cookie }),
    );
    expect(forged.status).toBe(403);
    expect(await rebuildRuns()).toEqual([]);

    const ok = await f.t.app.request(
      `/console/jobs/${f.jobId}/rebuild`,
      formInit({ _csrf: s.csrf }, { cookie: s.cookie }),
    );
    expect(ok.status).toBe(303);
    const [run] = await rebuildRuns();
    expect(run?.rebuild_reason).toBe("manual");
    const after = await page("/console/status");
    expect(after.text).toContain(`Rebuild queued (run ${run?.id})`);
    expect(after.text).toContain("rebuild create · reason: manual · plain → v1 · 0 windows");
  });

  it("a finished rebuild shows its windows done / total, the versions and the keep period in GET runs, the status view and the page", async () => {
    const r = await f.engine.runJob(f.jobId, { trigger: "schedule" });
    expect(r.status).toBe("succeeded");
    const run = await f.call("GET", `/typesense/sync-runs/${r.runId}`);
    const rb = run.json.data.rebuild as Record<string, unknown>;
    expect(rb).toMatchObject({
      stage: "keep",
      reason: "manual",
      from_version: null,
      to_version: 1,
    });
    expect(rb.windows_done).toBeGreaterThan(0);
    expect(rb.windows_done).toBe(rb.windows_total);
    expect(typeof rb.keep_until).toBe("string");
    const st = await f.call("GET", `/typesense/sync-jobs/${f.jobId}/status`);
    expect(st.json.data.latest_run_rebuild).toEqual(rb);
    const listed = await f.call("GET", `/typesense/sync-runs?job_id=${f.jobId}`);
    const plain = (listed.json.data as unknown as Record<string, unknown>[]).find(
      (x) => x.trigger !== "rebuild",
    );
    expect(plain?.rebuild).toBeNull();
    const status = await page("/console/status");
    expect(status.text).toContain(
      `rebuild keep · reason: manual · plain → v1 · windows ${rb.windows_done} / ${rb.windows_total}<span`,
    );
    expect(status.text).toContain(" · keeps plain until ");
  });

  it("a spec change's rebuild shows its reason and what changed", async () => {
    const patched = await f.call("PATCH", `/typesense/sync-jobs/${f.jobId}`, {
      document: {
        fields: [
          { name: "title", column: "title" },
          { name: "body", column: "body" },
        ],
        filter: "price > 3",
      },
    });
    expect(patched.status, JSON.stringify(patched.json)).toBe(200);
    expect(patched.json.data.rebuild_queued).toBe(true);
    const status = await page("/console/status");
    expect(status.text).toContain("rebuild create · reason: spec change · v1 → v2");
    expect(status.text).toContain("document.filter: the row filter changed");
  });
});
