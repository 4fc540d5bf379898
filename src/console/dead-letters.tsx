import type { Hono } from "hono";
import { must } from "./api-client.js";
import type { ConsoleContext, ConsoleEnv } from "./context.js";
import { ago, when } from "./format.js";
import { Badge, Csrf, FilterSubmit, Page } from "./layout.js";
import { flashOf, html, redirectWith } from "./render.js";
import { seg } from "./url.js";

interface Letter {
  id: string;
  job_id: string;
  origin: string;
  doc_id: string | null;
  operation: string;
  payload: unknown;
  error_code: number | null;
  error_message: string;
  attempts: number;
  status: string;
  last_failed_at: string;
}

const STATUSES = ["open", "resolved", "discarded"] as const;

function back(c: ConsoleContext): string {
  const q = new URLSearchParams();
  const f = c.get("form");
  for (const k of ["status", "job_id"]) {
    const v = f[k];
    if (typeof v === "string" && v) q.set(k, v);
  }
  const s = q.toString();
  return `/console/dead-letters${s ? `?${s}` : ""}`;
}

function preview(payload: unknown): string {
  if (payload === null || payload === undefined) return "";
  const s = JSON.stringify(payload);
  return s.length > 160 ? `${s.slice(0, 160)}…` : s;
}

async function listPage(c: ConsoleContext) {
  const s = c.get("session");
  const status = STATUSES.find((x) => x === c.req.query("status")) ?? "open";
  const jobId = c.req.query("job_id") ?? "";
  const api = c.get("api");
  const q = new URLSearchParams({ status, limit: "100" });
  if (jobId) q.set("job_id", jobId);
  const [letters, jobs] = await Promise.all([
    must(api.call<Letter[]>("GET", `/typesense/dead-letters?${q}`)),
    must(api.call<{ id: string; collection_name: string }[]>("GET", "/typesense/sync-jobs")),
  ]);
  const names = new Map(jobs.map((j) => [j.id, j.collection_name]));
  return html(
    c,
    <Page title="Dead letters" session={s} nav="dead-letters" flash={flashOf(c)}>
      <h1>Dead letters</h1>
      <p class="hint">
        Documents Typesense rejected for good (400/409/422). Retry re-sends the stored operation
        now; discard closes the letter without sending anything.
      </p>
      <form method="get" action="/console/dead-letters" class="card">
        <div class="grid2">
          <div>
            <label for="status">Status</label>
            <select id="status" name="status">
              {STATUSES.map((x) => (
                <option selected={x === status}>{x}</option>
              ))}
            </select>
          </div>
          <div>
            <label for="job_id">Job</label>
            <select id="job_id" name="job_id">
              <option value="">All jobs</option>
              {jobs.map((j) => (
                <option value={j.id} selected={j.id === jobId}>
                  {j.collection_name}
                </option>
              ))}
            </select>
          </div>
        </div>
        <FilterSubmit />
      </form>
      <div class="scroll card">
        <table>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Document</th>
              <th scope="col">Operation</th>
              <th scope="col">Error</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last failure</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {letters.length === 0 ? (
              <tr>
                <td colspan={8} class="muted">{`No ${status} dead letters.`}</td>
              </tr>
            ) : null}
            {letters.map((l) => (
              <tr data-letter={l.id}>
                <td class="mono">{names.get(l.job_id) ?? l.job_id}</td>
                <td class="mono">
                  {l.doc_id ?? "–"}
                  <div class="hint">{preview(l.payload)}</div>
                </td>
                <td>{`${l.operation} (${l.origin})`}</td>
                <td class="field-error">{`${l.error_code ?? ""} ${l.error_message}`.trim()}</td>
                <td class="num">{l.attempts}</td>
                <td title={when(l.last_failed_at)}>{ago(l.last_failed_at)}</td>
                <td>
                  <Badge value={l.status} />
                </td>
                <td>
                  {l.status === "open" ? (
                    <div class="actions">
                      {(["retry", "discard"] as const).map((a) => (
                        <form
                          method="post"
                          action={`/console/dead-letters/${seg(l.id)}/${a}`}
                          class="inline"
                        >
                          <Csrf session={s} />
                          <input type="hidden" name="status" value={status} />
                          <input type="hidden" name="job_id" value={jobId} />
                          <button
                            type="submit"
                            class={a === "retry" ? "small" : "small secondary"}
                            aria-label={`${a === "retry" ? "Retry" : "Discard"} document ${l.doc_id ?? l.id}`}
                          >
                            {a === "retry" ? "Retry" : "Discard"}
                          </button>
                        </form>
                      ))}
                    </div>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>,
  );
}

/** Dead letters: list with the error, retry, discard (the API does the work). */
export function deadLetterRoutes(r: Hono<ConsoleEnv>): void {
  r.get("/dead-letters", (c) => listPage(c));
  r.post("/dead-letters/:id/retry", async (c) => {
    const res = await c
      .get("api")
      .call("POST", `/typesense/dead-letters/${seg(c.req.param("id"))}/retry`);
    return res.ok
      ? redirectWith(c, back(c), "ok", "Typesense accepted the document; letter resolved.")
      : redirectWith(c, back(c), "error", res.message);
  });
  r.post("/dead-letters/:id/discard", async (c) => {
    const res = await c
      .get("api")
      .call("POST", `/typesense/dead-letters/${seg(c.req.param("id"))}/discard`);
    return res.ok
      ? redirectWith(c, back(c), "ok", "Letter discarded.")
      : redirectWith(c, back(c), "error", res.message);
  });
}
