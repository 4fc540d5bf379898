import { describe, expect, it } from "vitest";
import { createSessionStore } from "../../src/console/session.js";
import { JobCard } from "../../src/console/status-parts.js";

const html = (node: unknown) => String((node as { toString(): string }).toString());

describe("console job card: drift audit", () => {
  const store = createSessionStore();
  const session = store.get(
    store.create({ key: "k", client: "", role: "operator", label: "admin key" }),
  )!;
  const job = {
    id: "00000000-0000-4000-8000-000000000001",
    enabled: true,
    collection_name: "c",
    sync_health: "healthy",
    is_stale: false,
  };

  it("shows the last audit's findings and repairs, and offers an audit button", () => {
    const out = html(
      JobCard({
        j: {
          ...job,
          last_audit: {
            id: "a1",
            status: "succeeded",
            finished_at: "2026-01-01T00:00:00Z",
            missing: 2,
            extra: 1,
            differing: 3,
            repaired: { missing: 2, extra: 1, differing: 3 },
            repair_skipped: null,
          },
        },
        session,
        openLetters: 0,
      }),
    );
    expect(out).toContain("Last audit");
    expect(out).toContain("2 missing · 1 extra · 3 differing · repaired 2 / 1 / 3");
    expect(out).toContain(`action="/console/jobs/${job.id}/audit"`);
  });

  it("says why drift was not repaired, and shows a failed audit's error", () => {
    const skipped = html(
      JobCard({
        j: {
          ...job,
          last_audit: {
            id: "a2",
            status: "succeeded",
            missing: 1,
            extra: 0,
            differing: 0,
            repaired: { missing: 0, extra: 0, differing: 0 },
            repair_skipped: "audit_repair is off",
          },
        },
        session,
        openLetters: 0,
      }),
    );
    expect(skipped).toContain("not repaired: audit_repair is off");
    const failed = html(
      JobCard({
        j: { ...job, last_audit: { id: "a3", status: "failed", error: "source down" } },
        session,
        openLetters: 0,
      }),
    );
    expect(failed).toContain("source down");
    expect(html(JobCard({ j: job, session, openLetters: 0 }))).not.toContain("Last audit");
  });
});
