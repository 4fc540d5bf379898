import type { Hono } from "hono";
import type { SearchKeyRecord } from "../db/repositories/search-keys.js";
import { must } from "./api-client.js";
import type { ConsoleContext, ConsoleEnv } from "./context.js";
import { field, fields } from "./context.js";
import { type FieldErrors, fieldErrors, formLevel } from "./form-errors.js";
import { ago, when } from "./format.js";
import { Badge, Csrf, FieldError, invalid, Page } from "./layout.js";
import { flashOf, html, redirectWith } from "./render.js";
import { seg } from "./url.js";

/** A search key as the API answers it (dates as text). */
type SearchKeyView = Omit<
  SearchKeyRecord,
  "expires_at" | "last_used_at" | "created_at" | "updated_at"
> & {
  expires_at: string | null;
  last_used_at: string | null;
};
interface JobView {
  id: string;
  collection_name: string;
  source_client_name: string;
  source_table_name: string;
}

const TEXT_FIELDS = ["name", "filter_by", "include_fields", "exclude_fields"] as const;
const NUMBER_FIELDS = ["per_page_max", "limit_hits"] as const;
const SHOWN = ["name", "job_ids", ...TEXT_FIELDS, ...NUMBER_FIELDS, "expires_at"];
type Draft = Record<string, string> & { job_ids?: string };

function scopeText(k: SearchKeyView): string {
  const parts = [
    k.filter_by ? `filter ${k.filter_by}` : "",
    k.include_fields ? `only ${k.include_fields}` : "",
    k.exclude_fields ? `never ${k.exclude_fields}` : "",
    k.per_page_max ? `≤ ${k.per_page_max}/page` : "",
    k.limit_hits ? `≤ ${k.limit_hits} hits` : "",
  ];
  return parts.filter((p) => p !== "").join(" · ") || "no forced parameters";
}

function KeyRows({ keys, jobs, c }: { keys: SearchKeyView[]; jobs: JobView[]; c: ConsoleContext }) {
  const s = c.get("session");
  const collection = new Map(jobs.map((j) => [j.id, j.collection_name]));
  return (
    <div class="scroll card">
      <table>
        <thead>
          <tr>
            {["Name", "Public id", "Collections", "Scope", "State", "Last used", ""].map((h) => (
              <th scope="col">{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {keys.length === 0 ? (
            <tr>
              <td colspan={7} class="muted">
                No search keys yet.
              </td>
            </tr>
          ) : null}
          {keys.map((k) => (
            <tr data-search-key={k.id}>
              <td>{k.name}</td>
              <td class="mono">{k.public_id}</td>
              <td class="mono">{k.job_ids.map((j) => collection.get(j) ?? j).join(", ")}</td>
              <td class="mono">{scopeText(k)}</td>
              <td title={k.expires_at ? `expires ${when(k.expires_at)}` : "never expires"}>
                <Badge value={k.is_active ? "active" : "inactive"} />
              </td>
              <td>{k.last_used_at ? ago(k.last_used_at) : "never"}</td>
              <td>
                <div class="actions">
                  <form
                    method="post"
                    action={`/console/search-keys/${seg(k.id)}/active`}
                    class="inline"
                  >
                    <Csrf session={s} />
                    <input type="hidden" name="is_active" value={k.is_active ? "false" : "true"} />
                    <button type="submit" class="small secondary">
                      {k.is_active ? "Deactivate" : "Activate"}
                    </button>
                  </form>
                  <form
                    method="post"
                    action={`/console/search-keys/${seg(k.id)}/delete`}
                    class="inline"
                  >
                    <Csrf session={s} />
                    <button type="submit" class="small danger" aria-label={`Delete ${k.name}`}>
                      Delete
                    </button>
                  </form>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CreateForm(p: { c: ConsoleContext; jobs: JobView[]; draft: Draft; errors: FieldErrors }) {
  const { draft, errors } = p;
  const chosen = new Set((draft.job_ids ?? "").split(","));
  const top = formLevel(errors, SHOWN);
  const text = (name: string, label: string, hint = "") => (
    <>
      <label for={name}>{label}</label>
      <input
        id={name}
        name={name}
        value={draft[name] ?? ""}
        placeholder={hint}
        {...invalid(name, errors)}
      />
      <FieldError name={name} errors={errors} />
    </>
  );
  return (
    <section class="card" aria-labelledby="add-search-key">
      <h2 id="add-search-key">New search key</h2>
      {top.length > 0 ? (
        <p class="flash error" role="alert">
          {top.join(" ")}
        </p>
      ) : null}
      <form method="post" action="/console/search-keys">
        <Csrf session={p.c.get("session")} />
        {text("name", "Name")}
        <fieldset>
          <legend>Sync jobs it may search</legend>
          {p.jobs.map((j) => (
            <label class="check">
              <input type="checkbox" name="job_ids" value={j.id} checked={chosen.has(j.id)} />{" "}
              <span class="mono">{j.collection_name}</span> ({j.source_client_name}.
              {j.source_table_name})
            </label>
          ))}
        </fieldset>
        <FieldError name="job_ids" errors={errors} />
        {text("filter_by", "Forced filter_by", "tenant_id:=42")}
        {text("include_fields", "Only these fields", "title,price")}
        {text("exclude_fields", "Never these fields", "internal_notes")}
        {text("per_page_max", "Hits per page at most (1-250)")}
        {text("limit_hits", "Hits reachable at most (limit_hits)")}
        {text("expires_at", "Expires at (UTC, ISO 8601)", "2027-06-30T00:00:00Z")}
        <div class="actions">
          <button type="submit">Create search key</button>
        </div>
      </form>
    </section>
  );
}

async function listPage(
  c: ConsoleContext,
  draft: Draft,
  errors: FieldErrors,
  created?: { name: string; token: string },
  status = 200,
) {
  const api = c.get("api");
  const keys = await must(api.call<SearchKeyView[]>("GET", "/admin/search-keys"));
  const jobs = await must(api.call<JobView[]>("GET", "/typesense/sync-jobs"));
  return html(
    c,
    <Page title="Search keys" session={c.get("session")} nav="search-keys" flash={flashOf(c)}>
      <h1>Search keys</h1>
      <p class="hint">
        Keys for the search gateway at <span class="mono">/typesense-api</span> (docs/gateway.md):
        the collections a key may search and what it forces on every search. Apps mint short-lived
        keys from one with typesense-js <span class="mono">generateScopedSearchKey</span>. Needs the
        admin key.
      </p>
      {created ? (
        <div class="flash ok" role="status">
          <p>Search key "{created.name}" created. Copy it now, it is not shown again:</p>
          <p class="mono" id="new-search-key">
            {created.token}
          </p>
        </div>
      ) : null}
      <KeyRows keys={keys} jobs={jobs} c={c} />
      <CreateForm c={c} jobs={jobs} draft={draft} errors={errors} />
    </Page>,
    status as 200,
  );
}

/** The API body of the create form: empty fields left out, numbers as numbers. */
function createBody(draft: Draft, jobIds: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = { name: draft.name, job_ids: jobIds };
  for (const k of TEXT_FIELDS) if (k !== "name" && draft[k]) body[k] = draft[k];
  for (const k of NUMBER_FIELDS) if (draft[k]) body[k] = Number(draft[k]);
  if (draft.expires_at) body.expires_at = draft.expires_at;
  return body;
}

/** Search keys: list, create (the key shown once, on the answer page), (de)activate, delete. */
export function searchKeyRoutes(r: Hono<ConsoleEnv>): void {
  r.get("/search-keys", (c) => listPage(c, {}, {}));

  r.post("/search-keys", async (c) => {
    const f = c.get("form");
    const jobIds = fields(f, "job_ids");
    const draft: Draft = { job_ids: jobIds.join(",") };
    for (const k of [...TEXT_FIELDS, ...NUMBER_FIELDS, "expires_at"]) draft[k] = field(f, k);
    const res = await c
      .get("api")
      .call<{ key: SearchKeyView; api_key: string }>(
        "POST",
        "/admin/search-keys",
        createBody(draft, jobIds),
      );
    if (res.ok) {
      // rendered, not redirected: the key is in this one answer and in no session or flash
      c.header("cache-control", "no-store");
      return listPage(c, {}, {}, { name: res.data.key.name, token: res.data.api_key }, 201);
    }
    if (res.status === 403) return redirectWith(c, "/console/search-keys", "error", res.message);
    return listPage(c, draft, fieldErrors(res), undefined, res.status >= 500 ? 503 : 400);
  });

  r.post("/search-keys/:id/active", async (c) => {
    const active = field(c.get("form"), "is_active") === "true";
    const res = await c
      .get("api")
      .call("PATCH", `/admin/search-keys/${seg(c.req.param("id"))}`, { is_active: active });
    return res.ok
      ? redirectWith(
          c,
          "/console/search-keys",
          "ok",
          active ? "Key activated." : "Key deactivated.",
        )
      : redirectWith(c, "/console/search-keys", "error", res.message);
  });

  r.post("/search-keys/:id/delete", async (c) => {
    const res = await c.get("api").call("DELETE", `/admin/search-keys/${seg(c.req.param("id"))}`);
    return res.ok
      ? redirectWith(c, "/console/search-keys", "ok", "Search key deleted.")
      : redirectWith(c, "/console/search-keys", "error", res.message);
  });
}
