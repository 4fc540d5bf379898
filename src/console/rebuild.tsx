import type { Hono } from "hono";
import { must } from "./api-client.js";
import type { ConsoleContext, ConsoleEnv } from "./context.js";
import { Csrf, Page } from "./layout.js";
import { html, redirectWith } from "./render.js";
import { seg } from "./url.js";

/*
 * The job's Rebuild button (issue 16 point 2): the status page's card links
 * here; this page says what a rebuild does and asks to confirm; its form
 * (CSRF-checked by the console's POST middleware, like every form) calls
 * POST /typesense/sync-jobs/{job_id}/rebuild with the session's key, so the
 * API decides who may (admin and proxy keys) and answers 409 for an open run.
 */

interface JobView {
  id: string;
  collection_name: string;
  live_version?: number | null;
}

async function confirmPage(c: ConsoleContext) {
  const job = await must(
    c.get("api").call<JobView>("GET", `/typesense/sync-jobs/${seg(c.req.param("id"))}`),
  );
  const from =
    job.live_version === null || job.live_version === undefined
      ? "its plain collection"
      : `version ${job.live_version}`;
  const to = (job.live_version ?? 0) + 1;
  return html(
    c,
    <Page title="Rebuild" session={c.get("session")} nav="status">
      <h1>
        Rebuild <span class="mono">{job.collection_name}</span>?
      </h1>
      <div class="card">
        <p>
          {`A rebuild builds version ${to} of the collection beside ${from}, with a full sync of the table, verifies its document count, then swaps the alias "${job.collection_name}" onto it in one call. Searches keep reading ${from} until the swap; the previous version is kept for the job's keep period, then dropped.`}
        </p>
        <form method="post" action={`/console/jobs/${seg(job.id)}/rebuild`} class="inline">
          <Csrf session={c.get("session")} />
          <button type="submit">Rebuild now</button>{" "}
          <a class="button secondary" href="/console/status">
            Cancel
          </a>
        </form>
      </div>
    </Page>,
  );
}

export function rebuildRoutes(r: Hono<ConsoleEnv>): void {
  r.get("/jobs/:id/rebuild", (c) => confirmPage(c));
  r.post("/jobs/:id/rebuild", async (c) => {
    const res = await c
      .get("api")
      .call<{ run_id: string; disposition: string }>(
        "POST",
        `/typesense/sync-jobs/${seg(c.req.param("id"))}/rebuild`,
      );
    if (!res.ok) return redirectWith(c, "/console/status", "error", res.message);
    return redirectWith(
      c,
      "/console/status",
      "ok",
      res.data.disposition === "queued"
        ? `Rebuild queued (run ${res.data.run_id}); its progress shows on the job's card.`
        : `The open rebuild (run ${res.data.run_id}) resumes.`,
    );
  });
}
