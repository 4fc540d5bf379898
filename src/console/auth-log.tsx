import type { Hono } from "hono";
import { must } from "./api-client.js";
import type { ConsoleContext, ConsoleEnv } from "./context.js";
import { ago, when } from "./format.js";
import { Badge, FilterSubmit, Page } from "./layout.js";
import { html } from "./render.js";

interface AuthLogRow {
  id: string;
  first_seen_at: string;
  last_seen_at: string;
  key_public_id: string;
  method: string;
  route: string;
  right_needed: string;
  outcome: string;
  status: number;
  reason: string;
  client_addr: string;
  attempts: number;
}

const OUTCOMES = ["refused", "allowed", "dropped"] as const;
const COLUMNS = [
  "Last seen",
  "Key",
  "Request",
  "Right needed",
  "Outcome",
  "Reason",
  "Address",
  "Attempts",
];
const FILTERS = ["outcome", "key_id", "since", "until"] as const;

/** A datetime-local value ("2026-12-07T16:05") is read as UTC; anything else goes to the API as typed. */
function asUtc(v: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(v) ? `${v}:00Z` : v;
}

/** The page's filters from its query string, as given (empty = not set). */
function filtersOf(c: ConsoleContext): Record<(typeof FILTERS)[number], string> {
  const get = (k: string) => (c.req.query(k) ?? "").trim();
  return {
    outcome: get("outcome"),
    key_id: get("key_id"),
    since: get("since"),
    until: get("until"),
  };
}

function FilterForm({ f }: { f: ReturnType<typeof filtersOf> }) {
  return (
    <form method="get" action="/console/auth-log" class="card">
      <div class="grid2">
        <div>
          <label for="outcome">Outcome</label>
          <select id="outcome" name="outcome">
            <option value="">Any</option>
            {OUTCOMES.map((o) => (
              <option selected={o === f.outcome}>{o}</option>
            ))}
          </select>
        </div>
        <div>
          <label for="key_id">Key (public id, admin or none)</label>
          <input id="key_id" name="key_id" value={f.key_id} class="mono" />
        </div>
        <div>
          <label for="since">Since (UTC)</label>
          <input id="since" name="since" type="datetime-local" value={f.since} />
        </div>
        <div>
          <label for="until">Until (UTC)</label>
          <input id="until" name="until" type="datetime-local" value={f.until} />
        </div>
      </div>
      <FilterSubmit />
    </form>
  );
}

function Rows({ rows }: { rows: AuthLogRow[] }) {
  return (
    <div class="scroll card">
      <table>
        <thead>
          <tr>
            {COLUMNS.map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colspan={COLUMNS.length} class="muted">
                No attempts match.
              </td>
            </tr>
          ) : null}
          {rows.map((r) => (
            <tr data-auth-log={r.id}>
              <td title={`${when(r.first_seen_at)} – ${when(r.last_seen_at)}`}>
                {ago(r.last_seen_at)}
              </td>
              <td class="mono">{r.key_public_id}</td>
              <td class="mono">{`${r.method} ${r.route}`}</td>
              <td class="mono">{r.right_needed}</td>
              <td>
                <Badge value={r.outcome} /> <span class="num">{r.status}</span>
              </td>
              <td>{r.reason}</td>
              <td class="mono">{r.client_addr}</td>
              <td class="num">{r.attempts}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

async function listPage(c: ConsoleContext) {
  const f = filtersOf(c);
  const q = new URLSearchParams({ limit: "100" });
  if (f.outcome) q.set("outcome", f.outcome);
  if (f.key_id) q.set("key_id", f.key_id);
  if (f.since) q.set("since", asUtc(f.since));
  if (f.until) q.set("until", asUtc(f.until));
  const cursor = c.req.query("cursor");
  if (cursor) q.set("cursor", cursor);
  const page = await must(
    c
      .get("api")
      .call<{ rows: AuthLogRow[]; next_cursor: string | null }>("GET", `/admin/auth-log?${q}`),
  );
  const older = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== ""));
  if (page.next_cursor) older.set("cursor", page.next_cursor);
  return html(
    c,
    <Page title="Auth log" session={c.get("session")} nav="auth-log">
      <h1>Auth log</h1>
      <p class="hint">
        Refused attempts (401, 403, 503) and calls of admin routes, newest first. Each row counts
        the attempts of one minute with the same key, route, outcome, reason and address. Needs the
        admin key.
      </p>
      <FilterForm f={f} />
      <Rows rows={page.rows} />
      {page.next_cursor ? (
        <p class="actions">
          <a class="button small secondary" href={`/console/auth-log?${older}`}>
            Older rows
          </a>
        </p>
      ) : null}
    </Page>,
  );
}

/** Auth log: the API's GET /admin/auth-log with the same filters (admin sessions). */
export function authLogRoutes(r: Hono<ConsoleEnv>): void {
  r.get("/auth-log", (c) => listPage(c));
}
