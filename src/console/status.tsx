import type { Hono } from "hono";
import { must } from "./api-client.js";
import type { ConsoleContext, ConsoleDeps, ConsoleEnv } from "./context.js";
import { ago, bytes, lag, num } from "./format.js";
import { LagPlot } from "./lag-plot.js";
import { Badge, Page } from "./layout.js";
import { flashOf, html, redirectWith } from "./render.js";
import { attentionReasons, JobCard, type Row, RunsTable } from "./status-parts.js";
import { seg } from "./url.js";

/**
 * Status: every job's freshness and health (typesense_sync_job_status via
 * the API), recent runs with live progress, CDC streams with a last-hour plot.
 * With JavaScript, #live re-renders itself every 2 s while a run is active
 * (every 10 s otherwise); without, a <noscript> refresh does the same.
 */
async function statusPage(c: ConsoleContext, cd: ConsoleDeps) {
  const api = c.get("api");
  const [jobs, runs, streams, letters, rings] = await Promise.all([
    must(api.call<Row[]>("GET", "/typesense/sync-jobs/status")),
    must(api.call<Row[]>("GET", "/typesense/sync-runs?limit=15")),
    must(api.call<Row[]>("GET", "/typesense/cdc-streams")),
    must(api.call<Row[]>("GET", "/typesense/dead-letters?status=open&limit=500")),
    cd.sampler.read(),
  ]);
  const open = new Map<string, number>();
  for (const l of letters) open.set(String(l.job_id), (open.get(String(l.job_id)) ?? 0) + 1);
  const names = new Map(jobs.map((j) => [String(j.id), String(j.collection_name)]));
  const active = runs.some((r) => r.status === "running" || r.status === "queued");
  const attention = jobs.filter((j) => attentionReasons(j, open.get(String(j.id)) ?? 0).length > 0);
  const now = Date.now();
  return html(
    c,
    <Page
      title="Status"
      session={c.get("session")}
      nav="status"
      flash={flashOf(c)}
      refreshWithoutJs={active ? 3 : 30}
    >
      <h1>Status</h1>
      <div
        id="live"
        hx-get="/console/status"
        hx-select="#live"
        hx-target="this"
        hx-swap="outerHTML"
        hx-trigger={active ? "every 2s" : "every 10s"}
        data-active={active ? "true" : "false"}
        aria-live="polite"
      >
        <p role="status">
          {`${jobs.length} jobs · ${attention.length} need attention · ${runs.filter((r) => r.status === "running").length} running`}
          {active ? " · refreshing every 2 s" : ""}
        </p>
        {jobs.length === 0 ? (
          <p class="card">
            No sync jobs yet. <a href="/console/backends">Add a backend</a>, then{" "}
            <a href="/console/jobs/new">create a sync job</a>.
          </p>
        ) : null}
        <div class="jobs">
          {jobs.map((j) => (
            <JobCard j={j} session={c.get("session")} openLetters={open.get(String(j.id)) ?? 0} />
          ))}
        </div>
        <h2>Recent runs</h2>
        <RunsTable runs={runs} names={names} />
        <h2>CDC streams</h2>
        {streams.length === 0 ? (
          <p class="card muted">
            No CDC stream has reported yet. Streams start for source clients with CDC-enabled jobs.
          </p>
        ) : (
          <>
            <div class="scroll card">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Client</th>
                    <th scope="col">Status</th>
                    <th scope="col">Lag</th>
                    <th scope="col">Retained WAL</th>
                    <th scope="col" class="num">
                      Changes applied
                    </th>
                    <th scope="col">Last message</th>
                    <th scope="col">Slot</th>
                    <th scope="col">Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {streams.map((s) => (
                    <tr>
                      <td class="mono">{String(s.source_client_name)}</td>
                      <td>
                        <Badge value={String(s.status)} />
                      </td>
                      <td>{lag(s.lag_ms)}</td>
                      <td>{bytes(s.retained_wal_bytes)}</td>
                      <td class="num">{num(s.changes_applied)}</td>
                      <td>{ago(s.last_message_at)}</td>
                      <td class="mono">{String(s.slot_name)}</td>
                      <td>
                        {s.last_error ? (
                          <span class="field-error">{String(s.last_error)}</span>
                        ) : (
                          "–"
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <h2>Lag and throughput, last hour</h2>
            {streams.map((s) => {
              const client = String(s.source_client_name);
              return (
                <figure class="card plot">
                  <LagPlot client={client} samples={rings.get(client) ?? []} now={now} />
                  <figcaption class="hint">
                    {`Stream ${client}: sampled from typesense_cdc_streams while the console is open.`}
                  </figcaption>
                </figure>
              );
            })}
          </>
        )}
      </div>
    </Page>,
  );
}

export function statusRoutes(r: Hono<ConsoleEnv>, cd: ConsoleDeps): void {
  r.get("/status", (c) => statusPage(c, cd));
  r.post("/jobs/:id/run", async (c) => {
    const res = await c
      .get("api")
      .call<{ run_id: string; disposition: string }>(
        "POST",
        `/typesense/sync-jobs/${seg(c.req.param("id"))}/run`,
      );
    if (!res.ok) return redirectWith(c, "/console/status", "error", res.message);
    return redirectWith(
      c,
      "/console/status",
      "ok",
      res.data.disposition === "queued"
        ? "Run queued; progress shows below."
        : "An unfinished run will resume from its checkpoint.",
    );
  });
  r.post("/jobs/:id/audit", async (c) => {
    const res = await c
      .get("api")
      .call<{ audit_id: string }>("POST", `/typesense/sync-jobs/${seg(c.req.param("id"))}/audit`);
    if (!res.ok) return redirectWith(c, "/console/status", "error", res.message);
    return redirectWith(c, "/console/status", "ok", "Drift audit queued; its result shows below.");
  });
}
