import type { Hono } from "hono";
import { type Job, listJobs } from "../control/jobs.js";
import { must } from "./api-client.js";
import type { ConsoleContext, ConsoleDeps, ConsoleEnv } from "./context.js";
import { num } from "./format.js";
import { Page } from "./layout.js";
import { flashOf, html } from "./render.js";
import { Hit, type SearchHit } from "./search-hit.js";

interface JobOption {
  id: string;
  label: string;
  queryable: string[];
}
interface FacetCount {
  field_name: string;
  counts: { value: string; count: number }[];
}
interface SearchResult {
  found: number;
  page: number;
  search_time_ms?: number;
  hits: SearchHit[];
  facet_counts?: FacetCount[];
}

const PER_PAGE = 10;
const tick = (v: string) => `\`${v.replaceAll("`", "")}\``;

/**
 * Jobs the session may search. Operators read them through the API; a
 * search-only key may not list jobs there, so the console lists enabled jobs
 * (client-bound keys: their client's only) with the control-plane function.
 */
async function jobOptions(c: ConsoleContext, cd: ConsoleDeps): Promise<JobOption[]> {
  const s = c.get("session");
  type J = Job;
  const jobs: J[] =
    s.role === "operator"
      ? await must(c.get("api").call<J[]>("GET", "/typesense/sync-jobs?enabled=true"))
      : await listJobs(cd.pools.control, { enabled: true, scope: s.client || null });
  return jobs.map((j) => ({
    id: j.id,
    label: `${j.collection_name} (${j.source_client_name}/${j.source_schema_name}.${j.source_table_name})`,
    queryable: (j.queryable_fields as string[]) ?? [],
  }));
}

/** `field:value` filters from the query, grouped per field into Typesense's filter_by. */
function filterBy(filters: string[]): string | undefined {
  const by = new Map<string, string[]>();
  for (const f of filters) {
    const i = f.indexOf(":");
    if (i <= 0) continue;
    const k = f.slice(0, i);
    by.set(k, [...(by.get(k) ?? []), f.slice(i + 1)]);
  }
  const parts = [...by].map(([k, vs]) => `${k}:=[${vs.map(tick).join(",")}]`);
  return parts.length ? parts.join(" && ") : undefined;
}

function href(p: { job: string; q: string; page: number; f: string[] }): string {
  const u = new URLSearchParams({ job_id: p.job, q: p.q });
  if (p.page > 1) u.set("page", String(p.page));
  for (const f of p.f) u.append("f", f);
  return `/console/search?${u}`;
}

async function searchPage(c: ConsoleContext, cd: ConsoleDeps) {
  const s = c.get("session");
  const jobs = await jobOptions(c, cd);
  const job = jobs.find((j) => j.id === c.req.query("job_id")) ?? jobs[0];
  const q = (c.req.query("q") ?? "").slice(0, 500);
  const page = Math.min(1000, Math.max(1, Number(c.req.query("page")) || 1));
  const f = c.req.queries("f") ?? [];
  let result: SearchResult | undefined;
  let error: string | undefined;
  let facetFields: string[] = [];
  if (job) {
    facetFields = await cd.facetFieldsOf(job.id);
    const res = await c.get("api").call<{ result: SearchResult }>("POST", "/typesense/search", {
      job_id: job.id,
      q: q.trim() === "" ? "*" : q,
      page,
      per_page: PER_PAGE,
      ...(facetFields.length ? { facet_by: facetFields.join(","), max_facet_values: 10 } : {}),
      ...(filterBy(f) ? { filter_by: filterBy(f) } : {}),
      highlight_start_tag: "\uE000",
      highlight_end_tag: "\uE001",
    });
    if (res.ok) result = res.data.result;
    else error = res.message;
  }
  const pages = result ? Math.max(1, Math.ceil(result.found / PER_PAGE)) : 1;
  const base = { job: job?.id ?? "", q, f };
  return html(
    c,
    <Page title="Live search" session={s} nav="search" flash={flashOf(c)}>
      <h1>Live search</h1>
      <search>
        <form
          method="get"
          action="/console/search"
          class="card"
          hx-get="/console/search"
          hx-trigger="input changed delay:300ms from:#q, change from:#job_id, submit"
          hx-target="#results"
          hx-select="#results"
          hx-swap="outerHTML"
          hx-push-url="true"
        >
          <div class="grid2">
            <div>
              <label for="job_id">Sync job</label>
              <select id="job_id" name="job_id">
                {jobs.map((j) => (
                  <option value={j.id} selected={j.id === job?.id}>
                    {j.label}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="q">Search</label>
              <input
                id="q"
                name="q"
                type="search"
                value={q}
                placeholder="Type to search…"
                autocomplete="off"
              />
            </div>
          </div>
          {f.map((x) => (
            <input type="hidden" name="f" value={x} />
          ))}
          <div class="actions">
            <button type="submit">Search</button>
          </div>
        </form>
      </search>
      <section id="results" aria-live="polite" aria-label="Results">
        {!job ? <p class="card muted">No enabled sync job to search yet.</p> : null}
        {error ? (
          <p class="flash error" role="alert">
            {error}
          </p>
        ) : null}
        {result ? (
          <div class="search-layout">
            <aside aria-label="Facets">
              {(result.facet_counts ?? []).map((fc) => (
                <nav class="card facet" aria-label={`Filter by ${fc.field_name}`}>
                  <h3>{fc.field_name}</h3>
                  <ul>
                    {fc.counts.map((v) => {
                      const key = `${fc.field_name}:${v.value}`;
                      const on = f.includes(key);
                      const next = on ? f.filter((x) => x !== key) : [...f, key];
                      return (
                        <li>
                          <a
                            href={href({ ...base, page: 1, f: next })}
                            aria-current={on ? "true" : undefined}
                          >
                            {on ? "✓ " : ""}
                            {v.value}
                          </a>{" "}
                          <span class="muted">({num(v.count)})</span>
                        </li>
                      );
                    })}
                  </ul>
                </nav>
              ))}
              {facetFields.length === 0 ? (
                <p class="hint">This collection has no facet fields.</p>
              ) : null}
            </aside>
            <div>
              <p role="status">
                {`${num(result.found)} found`}
                {result.search_time_ms !== undefined ? ` in ${result.search_time_ms} ms` : ""}
                {` · page ${result.page} of ${pages}`}
              </p>
              <ol class="hits">
                {result.hits.map((h) => (
                  <Hit hit={h} queryable={job?.queryable ?? []} />
                ))}
              </ol>
              <nav class="pager" aria-label="Pages">
                {page > 1 ? (
                  <a href={href({ ...base, page: page - 1 })} rel="prev">
                    ← Previous
                  </a>
                ) : null}
                <span>{`Page ${page} of ${pages}`}</span>
                {page < pages ? (
                  <a href={href({ ...base, page: page + 1 })} rel="next">
                    Next →
                  </a>
                ) : null}
              </nav>
            </div>
          </div>
        ) : null}
      </section>
    </Page>,
  );
}

/** Live search through POST /typesense/search (the API route, with this session's key). */
export function searchRoutes(r: Hono<ConsoleEnv>, cd: ConsoleDeps): void {
  r.get("/search", (c) => searchPage(c, cd));
}
