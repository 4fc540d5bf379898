import { describe, expect, it } from "vitest";
import { insertJob } from "../fullsync/helpers.js";
import { admin, jsonInit, useTestApp } from "../http/fixture.js";
import { capturingLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { formInit, signIn as signInAs } from "./forms.js";

const db = useTestDatabase();
const cap = capturingLogger();
// two source clients (both on the test database) for the client-bound session below
const t = useTestApp(db, () => cap.log, { clients: () => ({ app: db.url, other: db.url }) });

const TS_KEY = "typesense-secret-key-0123456789";
const signIn = (key: string, client = "") => signInAs(t.app, key, client);

async function gatewayKey(
  rights: string[],
  client_name?: string,
): Promise<{ id: string; token: string }> {
  const r = await t.app.request(
    "/admin/api-keys",
    jsonInit("POST", { name: "k", rights, client_name }, admin),
  );
  const j = (await r.json()) as { data: { key: { id: string }; api_key: string } };
  return { id: j.data.key.id, token: j.data.api_key };
}

describe("console over HTTP", () => {
  it("redirects to sign-in, sets a strict HttpOnly cookie and never echoes a key", async () => {
    const first = await t.app.request("/console");
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/console/login?next=%2Fconsole");
    const login = await t.app.request("/console/login");
    expect(login.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(login.headers.get("cache-control")).toBe("no-store");

    const bad = await t.app.request("/console/login", formInit({ key: "wrong" }));
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain("Invalid API key");

    const res = await t.app.request("/console/login", formInit({ key: admin["X-Athena-Key"] }));
    const set = res.headers.get("set-cookie") ?? "";
    expect(set).toMatch(/^ats_console=[\w-]{40,};/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).toMatch(/Path=\/console/);
    expect(set).not.toContain(admin["X-Athena-Key"]);
    expect(res.headers.get("location")).toBe("/console/status");
  });

  it("pages never contain the admin key or a backend key; the key shows as its last 4", async () => {
    const s = await signIn(admin["X-Athena-Key"]);
    const add = await t.app.request(
      "/console/backends",
      formInit(
        { _csrf: s.csrf, name: "ts", base_url: "http://127.0.0.1:9", api_key: TS_KEY },
        { cookie: s.cookie },
      ),
    );
    expect(add.status).toBe(303);
    for (const p of ["status", "backends", "jobs", "jobs/new", "dead-letters", "search"]) {
      const res = await t.app.request(`/console/${p}`, { headers: { cookie: s.cookie } });
      const html = await res.text();
      expect(res.status, p).toBe(200);
      expect(html, p).not.toContain(admin["X-Athena-Key"]);
      expect(html, p).not.toContain(TS_KEY);
      if (p === "backends") expect(html).toContain("••••6789");
    }
  });

  it("a form error from the API is shown next to its field", async () => {
    const s = await signIn(admin["X-Athena-Key"]);
    const res = await t.app.request(
      "/console/backends",
      formInit(
        { _csrf: s.csrf, name: "x", base_url: "ftp://nope", api_key: "k", timeout_ms: "0" },
        { cookie: s.cookie },
      ),
    );
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toMatch(/id="timeout_ms-error">[^<]*\S/);
    expect(html).toMatch(/id="timeout_ms"[^>]*aria-invalid="true"/);
  });

  it("forms need the session's CSRF token and the same origin", async () => {
    const s = await signIn(admin["X-Athena-Key"]);
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      t.app.request("/console/logout", formInit(body, { cookie: s.cookie, ...headers }));
    expect((await post({})).status).toBe(403);
    expect((await post({ _csrf: "forged" })).status).toBe(403);
    expect((await post({ _csrf: s.csrf }, { origin: "https://evil.example" })).status).toBe(403);
    expect((await post({ _csrf: s.csrf }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    const ok = await post({ _csrf: s.csrf }, { origin: "http://localhost" });
    expect(ok.status).toBe(303);
    // signed out: the cookie no longer opens anything
    const after = await t.app.request("/console/status", { headers: { cookie: s.cookie } });
    expect(after.headers.get("location")).toContain("/console/login");
  });

  it("a search-only key gets Live search only; a revoked key is signed out", async () => {
    const search = await gatewayKey(["gateway.typesense_search"]);
    const s = await signIn(search.token);
    expect(s.location).toBe("/console/search");
    for (const p of ["status", "backends", "jobs", "dead-letters"]) {
      const res = await t.app.request(`/console/${p}`, { headers: { cookie: s.cookie } });
      expect(res.status, p).toBe(403);
    }
    const nav = await (
      await t.app.request("/console/search", { headers: { cookie: s.cookie } })
    ).text();
    expect(nav).not.toContain('href="/console/backends"');

    const proxy = await gatewayKey(["gateway.typesense_proxy"]);
    const p = await signIn(proxy.token);
    expect(
      (await t.app.request("/console/backends", { headers: { cookie: p.cookie } })).status,
    ).toBe(200);
    await t.app.request(`/admin/api-keys/${proxy.id}`, { method: "DELETE", headers: admin });
    const gone = await t.app.request("/console/backends", { headers: { cookie: p.cookie } });
    expect(gone.status).toBe(303);
    expect(gone.headers.get("location")).toContain("/console/login");
  });

  it("an id in a console path stays one segment of the API path (a crafted id cannot reach another route)", async () => {
    const s = await signIn(admin["X-Athena-Key"]);
    const victim = await gatewayKey(["gateway.typesense_proxy"]);
    // decoded by the console router to "../../admin/api-keys/<id>"; unencoded, the API
    // call DELETE /typesense/backends/../../admin/api-keys/<id> deleted that API key
    const crafted = encodeURIComponent(`../../admin/api-keys/${victim.id}`);
    const res = await t.app.request(
      `/console/backends/${crafted}/delete`,
      formInit({ _csrf: s.csrf }, { cookie: s.cookie }),
    );
    expect(res.status).toBe(303);
    const still = await t.app.request(`/admin/api-keys/${victim.id}`, { headers: admin });
    expect(still.status).toBe(200);
  });

  it("a client-bound operator session offers only its own client on the new-job form", async () => {
    const bound = await gatewayKey(["gateway.typesense_proxy"], "app");
    const s = await signIn(bound.token, "app");
    const page = await t.app.request("/console/jobs/new", { headers: { cookie: s.cookie } });
    expect(page.status).toBe(200);
    const options = [...(await page.text()).matchAll(/<option[^>]*>([^<]*)<\/option>/g)].map(
      (m) => m[1],
    );
    expect(options).toContain("app");
    expect(options).not.toContain("other");
  });

  it("a client-bound session gets no form to change the shared backends, and a forced one shows the 403", async () => {
    const a = await signIn(admin["X-Athena-Key"]);
    await t.app.request(
      "/console/backends",
      formInit(
        { _csrf: a.csrf, name: "shared", base_url: "http://127.0.0.1:9", api_key: TS_KEY },
        { cookie: a.cookie },
      ),
    );
    const bound = await gatewayKey(["gateway.typesense_proxy"], "app");
    const s = await signIn(bound.token, "app");
    const page = await (
      await t.app.request("/console/backends", { headers: { cookie: s.cookie } })
    ).text();
    expect(page).toContain("shared");
    expect(page).toMatch(/aria-label="Test shared"/);
    expect(page).not.toMatch(/aria-label="Remove shared"/);
    expect(page).not.toContain("Add a backend");
    const forced = await t.app.request(
      "/console/backends",
      formInit(
        { _csrf: s.csrf, name: "mine", base_url: "http://127.0.0.1:9", api_key: TS_KEY },
        { cookie: s.cookie },
      ),
    );
    expect(forced.status).toBe(303);
    const after = await (
      await t.app.request("/console/backends", { headers: { cookie: s.cookie } })
    ).text();
    expect(after).toContain("client-bound keys cannot change shared backends");
    expect(after).not.toContain("mine");
  });

  it("the bypass is the console's only: the API still needs a key", async () => {
    expect((await t.app.request("/typesense/backends")).status).toBe(401);
    expect((await t.app.request("/consolex")).status).toBe(401);
    const asset = await t.app.request("/console/assets/htmx.min.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toContain("javascript");
  });
});

describe("console auth log page", () => {
  it("lists refused attempts with the API's filters; the nav links it; a gateway key gets 403", async () => {
    const proxy = await gatewayKey(["gateway.typesense_proxy"]);
    const publicId = /^ath_([0-9a-f]{16})\./.exec(proxy.token)?.[1] ?? "";
    const refused = await t.app.request("/admin/api-key-rights", {
      headers: { "X-Athena-Key": proxy.token },
    });
    expect(refused.status).toBe(403);
    const s = await signIn(admin["X-Athena-Key"]);
    const open = async (q: string) => {
      const res = await t.app.request(`/console/auth-log${q}`, { headers: { cookie: s.cookie } });
      expect(res.status, q).toBe(200);
      return res.text();
    };
    // the writer flushes on its own within a second: wait for the row, not for a time
    let page = "";
    const listed = () => page.includes("data-auth-log=");
    for (let i = 0; i < 100 && !listed(); i++) {
      page = await open(`?key_id=${publicId}`);
      if (!listed()) await new Promise((r) => setTimeout(r, 50));
    }
    expect(page).toContain('href="/console/auth-log"');
    expect(page).toContain("GET /admin/api-key-rights");
    expect(page).toContain("Insufficient API key rights");
    expect(page).not.toContain(proxy.token.split(".")[1]);
    expect(await open(`?key_id=${publicId}&outcome=allowed`)).toContain("No attempts match.");
    expect(await open("?outcome=allowed")).toContain("POST /admin/api-keys");

    const p = await signIn(proxy.token);
    const denied = await t.app.request("/console/auth-log", { headers: { cookie: p.cookie } });
    expect(denied.status).toBe(403);
  });
});

describe("console search keys page", () => {
  it("creates a key shown once, lists it without the secret, deactivates and deletes it", async () => {
    const jobId = await insertJob(t.pools.control, { collection: "keyed", table: "keyed" });
    const s = await signIn(admin["X-Athena-Key"]);
    const post = (path: string, body: Record<string, string>) =>
      t.app.request(`/console${path}`, formInit({ _csrf: s.csrf, ...body }, { cookie: s.cookie }));
    const open = async () => {
      const res = await t.app.request("/console/search-keys", { headers: { cookie: s.cookie } });
      expect(res.status).toBe(200);
      return res.text();
    };
    expect(await open()).toContain('href="/console/search-keys"');

    const bad = await post("/search-keys", {
      name: "shop",
      job_ids: jobId,
      per_page_max: "999",
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/id="per_page_max-error">[^<]*\S/);

    const made = await post("/search-keys", {
      name: "shop",
      job_ids: jobId,
      filter_by: "tenant_id:=42",
    });
    expect(made.status).toBe(201);
    expect(made.headers.get("cache-control")).toBe("no-store");
    const token = /id="new-search-key">([0-9a-f]{64})</.exec(await made.text())?.[1] ?? "";
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const listed = await open();
    expect(listed).toContain("filter tenant_id:=42");
    expect(listed).toContain(token.slice(0, 12)); // the public id
    expect(listed).not.toContain(token.slice(12));

    const id = /data-search-key="([0-9a-f-]{36})"/.exec(listed)?.[1] ?? "";
    expect((await post(`/search-keys/${id}/active`, { is_active: "false" })).status).toBe(303);
    expect(await open()).toContain("inactive");
    expect((await post(`/search-keys/${id}/delete`, {})).status).toBe(303);
    expect(await open()).toContain("No search keys yet.");
  });

  it("a gateway-key session gets 403 (admin only, like the API)", async () => {
    const proxy = await gatewayKey(["gateway.typesense_proxy"]);
    const p = await signIn(proxy.token);
    const denied = await t.app.request("/console/search-keys", { headers: { cookie: p.cookie } });
    expect(denied.status).toBe(403);
  });
});
