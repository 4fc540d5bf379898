import { describe, expect, it } from "vitest";
import { fieldErrors } from "../../src/console/form-errors.js";
import { LagPlot } from "../../src/console/lag-plot.js";
import { Marked } from "../../src/console/search-hit.js";
import { createSessionStore } from "../../src/console/session.js";
import { attentionReasons, JobCard, Progress } from "../../src/console/status-parts.js";

/** Components are called as functions here (the unit project runs *.test.ts, no JSX). */
const html = (node: unknown) => String((node as { toString(): string }).toString());

describe("console rendering", () => {
  it("progress: exact totals as n / total, estimated as 'about', unknown without a bar", () => {
    expect(html(Progress({ processed: 40, total: 40, kind: "exact" }))).toContain("40 / 40");
    const est = html(Progress({ processed: 1200, total: 1000, kind: "estimated" }));
    expect(est).toContain("1,200 / about 1,000");
    expect(est).toMatch(/<progress value="1000" max="1000"/);
    const unknown = html(Progress({ processed: 5, total: null, kind: "unknown" }));
    expect(unknown).toContain("5 processed");
    expect(unknown).not.toContain("<progress");
  });

  it("highlights become <mark> and document text stays escaped", () => {
    const out = html(Marked({ text: "a <script>x</script> \uE000hit\uE001 <mark>b</mark>" }));
    expect(out).toContain("&lt;script&gt;x&lt;/script&gt;");
    expect(out).toContain("<mark>hit</mark>");
    expect(out).toContain("<mark>b</mark>");
    expect(out).not.toContain("<script>");
  });

  it("attention: failing, stale, failed documents, dead letters, CDC state and lag", () => {
    const base = { enabled: true, stale_after_seconds: 900, cdc_enabled: false };
    expect(attentionReasons({ ...base, sync_health: "healthy", is_stale: false }, 0)).toEqual([]);
    const r = attentionReasons(
      {
        ...base,
        sync_health: "failing",
        last_sync_error: "boom",
        is_stale: true,
        last_failed_count: 3,
        cdc_enabled: true,
        cdc_status: "error",
        cdc_lag_ms: 120_000,
      },
      2,
    );
    expect(r.join(" | ")).toMatch(
      /failed: boom.*Stale.*3 documents.*2 open dead letters.*error.*2 min/,
    );
  });

  it("the job badge follows the view's sync_health (degraded, failing) and a parked job says why", () => {
    const store = createSessionStore();
    const session = store.get(
      store.create({ key: "k", client: "", role: "operator", label: "admin key" }),
    )!;
    const job = {
      id: "00000000-0000-4000-8000-000000000001",
      enabled: true,
      cdc_enabled: true,
      cdc_status: "streaming",
      collection_name: "c",
      is_stale: false,
    };
    const degraded = html(
      JobCard({ j: { ...job, sync_health: "degraded" }, session, openLetters: 1 }),
    );
    expect(degraded).toContain('class="badge b-degraded"');
    const parked = {
      ...job,
      sync_health: "failing",
      cdc_parked_at: "2026-01-01T00:00:00Z",
      cdc_parked_error: "upsert 2 into c: 401 Forbidden",
    };
    expect(html(JobCard({ j: parked, session, openLetters: 0 }))).toContain(
      'class="badge b-failing"',
    );
    expect(attentionReasons(parked, 0)).toEqual(["CDC parked: upsert 2 into c: 401 Forbidden"]);
  });

  it("API errors land on their fields: zod issues, control fields, catalog columns", () => {
    const res = (error: unknown, message = "bad") => ({
      status: 400,
      ok: false,
      message,
      data: undefined,
      error,
    });
    expect(
      fieldErrors(res({ issues: [{ path: "body.timeout_ms", message: "too small" }] })),
    ).toEqual({ timeout_ms: "too small" });
    expect(fieldErrors(res({ field: "additional_node_urls.1" }, "no"))).toEqual({
      additional_node_urls: "no",
    });
    expect(fieldErrors(res({ column: "title" }, "not text"), () => "queryable_fields")).toEqual({
      queryable_fields: "not text",
    });
    expect(fieldErrors(res(undefined, "conflict"))).toEqual({ _form: "conflict" });
  });

  it("the plot draws lines from samples and says when there are none", () => {
    const now = 1_000_000;
    const samples = [0, 1, 2, 3].map((i) => ({
      t: now - 3000 + i * 1000,
      lagMs: 10 * i,
      perSecond: i === 0 ? null : 5,
      retainedWalBytes: 0,
    }));
    const svg = html(LagPlot({ client: "app", samples, now }));
    expect(svg.match(/<polyline/g)?.length).toBe(2);
    expect(svg).toContain("latest 30 ms");
    expect(svg).toContain("4 samples");
    const empty = html(LagPlot({ client: "app", samples: [], now }));
    expect(empty).not.toContain("<polyline");
    expect(empty).toContain("latest –");
  });
});
