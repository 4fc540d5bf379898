import type { Hono } from "hono";
import type { BackendRecord } from "../db/repositories/backends.js";
import { must } from "./api-client.js";
import type { ConsoleContext, ConsoleEnv } from "./context.js";
import { field } from "./context.js";
import { type FieldErrors, fieldErrors, formLevel } from "./form-errors.js";
import { num } from "./format.js";
import { Csrf, FieldError, invalid, Page } from "./layout.js";
import { flashOf, html, redirectWith } from "./render.js";
import { seg } from "./url.js";

/** A backend as the API returns it (its timestamps are not shown here). */
type Backend = Omit<BackendRecord, "created_at" | "updated_at">;

interface Collection {
  name: string;
  num_documents: number;
  fields: { name: string; type: string; facet?: boolean; optional?: boolean }[];
}

const SHOWN = ["name", "base_url", "api_key", "timeout_ms"];
type Draft = { name: string; base_url: string; timeout_ms: string };

async function listPage(c: ConsoleContext, draft: Draft, errors: FieldErrors, status = 200) {
  const s = c.get("session");
  const rows = await must(c.get("api").call<Backend[]>("GET", "/typesense/backends"));
  const top = formLevel(errors, SHOWN);
  // Backends are shared by every client: a client-bound session may test them
  // and see its own collections, but the API refuses it every change (403), so
  // it gets no form for one (as job-new.tsx, a session naming a client is bound).
  const canChange = !s.client;
  return html(
    c,
    <Page title="Backends" session={s} nav="backends" flash={flashOf(c)}>
      <h1>Backends</h1>
      <div class="scroll card">
        <table>
          <caption class="muted">
            Saved Typesense backends. API keys are stored encrypted when an encryption key is
            configured and are never shown again.
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Base URL</th>
              <th scope="col">API key</th>
              <th scope="col" class="num">
                Timeout
              </th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td colspan={5} class="muted">
                  No backends yet: add one below.
                </td>
              </tr>
            ) : null}
            {rows.map((b) => (
              <tr>
                <td>{b.name}</td>
                <td class="mono">
                  {[b.base_url, ...b.additional_node_urls].map((u) => (
                    <div>{u}</div>
                  ))}
                </td>
                <td class="mono">
                  {b.api_key_last4 ? `••••${b.api_key_last4}` : "••••"}
                  {b.api_key_encrypted ? " (encrypted)" : ""}
                </td>
                <td class="num">{num(b.timeout_ms)} ms</td>
                <td>
                  <div class="actions">
                    <form
                      method="post"
                      action={`/console/backends/${seg(b.id)}/test`}
                      class="inline"
                    >
                      <Csrf session={s} />
                      <button type="submit" class="small" aria-label={`Test ${b.name}`}>
                        Test
                      </button>
                    </form>
                    <a
                      class="button small secondary"
                      href={`/console/backends/${seg(b.id)}/collections`}
                    >
                      Collections
                    </a>
                    {canChange ? (
                      <form
                        method="post"
                        action={`/console/backends/${seg(b.id)}/delete`}
                        class="inline"
                      >
                        <Csrf session={s} />
                        <button type="submit" class="small danger" aria-label={`Remove ${b.name}`}>
                          Remove
                        </button>
                      </form>
                    ) : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {canChange ? null : (
        <p class="hint">
          Backends are shared by every client. This client-bound key can test them and list its own
          jobs' collections on them; adding, changing or removing one needs the admin key or a key
          bound to no client.
        </p>
      )}
      {canChange ? (
        <section class="card" aria-labelledby="add-backend">
          <h2 id="add-backend">Add a backend</h2>
          {top.length > 0 ? (
            <p class="flash error" role="alert">
              {top.join(" ")}
            </p>
          ) : null}
          <form method="post" action="/console/backends">
            <Csrf session={s} />
            <label for="name">Name</label>
            <input
              id="name"
              name="name"
              type="text"
              value={draft.name}
              required
              {...invalid("name", errors)}
            />
            <FieldError name="name" errors={errors} />
            <label for="base_url">Base URL</label>
            <input
              id="base_url"
              name="base_url"
              type="url"
              placeholder="https://typesense.example.com:443"
              value={draft.base_url}
              required
              {...invalid("base_url", errors)}
            />
            <FieldError name="base_url" errors={errors} />
            <label for="api_key">API key</label>
            <input
              id="api_key"
              name="api_key"
              type="password"
              autocomplete="off"
              required
              {...invalid("api_key", errors)}
            />
            <FieldError name="api_key" errors={errors} />
            <label for="timeout_ms">Timeout (ms)</label>
            <input
              id="timeout_ms"
              name="timeout_ms"
              type="number"
              min="1"
              max="600000"
              value={draft.timeout_ms}
              {...invalid("timeout_ms", errors)}
            />
            <FieldError name="timeout_ms" errors={errors} />
            <div class="actions">
              <button type="submit">Add backend</button>
            </div>
          </form>
        </section>
      ) : null}
    </Page>,
    status as 200,
  );
}

async function collectionsPage(c: ConsoleContext, id: string) {
  const api = c.get("api");
  const backend = await must(api.call<Backend>("GET", `/typesense/backends/${seg(id)}`));
  const list = await must(
    api.call<{ collections: Collection[] }>("POST", "/typesense/collections/list", {
      profile_id: id,
    }),
  );
  const cols = [...list.collections].sort((a, b) => a.name.localeCompare(b.name));
  return html(
    c,
    <Page title={`Collections of ${backend.name}`} session={c.get("session")} nav="backends">
      <h1>Collections of {backend.name}</h1>
      <p class="hint">
        <a href="/console/backends">← Backends</a> · {cols.length} collections on{" "}
        <span class="mono">{backend.base_url}</span>
      </p>
      <div class="scroll card">
        <table>
          <thead>
            <tr>
              <th scope="col">Collection</th>
              <th scope="col" class="num">
                Documents
              </th>
              <th scope="col">Fields</th>
            </tr>
          </thead>
          <tbody>
            {cols.length === 0 ? (
              <tr>
                <td colspan={3} class="muted">
                  No collections yet. The first sync of a job creates its collection.
                </td>
              </tr>
            ) : null}
            {cols.map((col) => (
              <tr>
                <td class="mono">{col.name}</td>
                <td class="num">{num(col.num_documents)}</td>
                <td class="mono">
                  {col.fields
                    .map((f) => `${f.name}: ${f.type}${f.facet ? " (facet)" : ""}`)
                    .join(", ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Page>,
  );
}

/** Backends: list, add, test (latency), remove; a backend's collections. */
export function backendRoutes(r: Hono<ConsoleEnv>): void {
  r.get("/backends", (c) => listPage(c, { name: "", base_url: "", timeout_ms: "5000" }, {}));

  r.post("/backends", async (c) => {
    const f = c.get("form");
    const draft = {
      name: field(f, "name"),
      base_url: field(f, "base_url"),
      timeout_ms: field(f, "timeout_ms"),
    };
    const body: Record<string, unknown> = {
      name: draft.name,
      base_url: draft.base_url,
      api_key: field(f, "api_key"),
    };
    if (draft.timeout_ms !== "") body.timeout_ms = Number(draft.timeout_ms);
    const res = await c.get("api").call<Backend>("POST", "/typesense/backends", body);
    if (res.ok)
      return redirectWith(c, "/console/backends", "ok", `Backend "${res.data.name}" added.`);
    // refused (a client-bound key): the page has no form to show the message in
    if (res.status === 403) return redirectWith(c, "/console/backends", "error", res.message);
    return listPage(c, draft, fieldErrors(res), res.status >= 500 ? 503 : 400);
  });

  r.post("/backends/:id/test", async (c) => {
    const res = await c
      .get("api")
      .call<{ ok: boolean; latency_ms: number; error?: string }>(
        "POST",
        "/typesense/backends/test",
        {
          profile_id: c.req.param("id"),
        },
      );
    if (!res.ok)
      return redirectWith(c, "/console/backends", "error", `Test failed: ${res.message}`);
    const d = res.data;
    return d.ok
      ? redirectWith(
          c,
          "/console/backends",
          "ok",
          `Backend healthy: answered in ${Math.round(d.latency_ms * 10) / 10} ms.`,
        )
      : redirectWith(
          c,
          "/console/backends",
          "error",
          `Test failed (${res.message}): ${d.error ?? "no healthy node"}`,
        );
  });

  r.post("/backends/:id/delete", async (c) => {
    const res = await c.get("api").call("DELETE", `/typesense/backends/${seg(c.req.param("id"))}`);
    return res.ok
      ? redirectWith(c, "/console/backends", "ok", "Backend removed.")
      : redirectWith(c, "/console/backends", "error", res.message);
  });

  r.get("/backends/:id/collections", (c) => collectionsPage(c, c.req.param("id")));
}
