import { describe, expect, it } from "vitest";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { admin, jsonInit, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const t = useTestApp(db, silentLogger);

const PUBLIC = new Set([
  "GET /health",
  "GET /ready",
  "GET /openapi.json",
  "GET /openapi.yaml",
  "GET /docs",
]);
const UUID = "00000000-0000-4000-8000-000000000000";

/**
 * Every API route of the app (the console has its own session auth, tested in test/console;
 * the search gateway /typesense-api its search keys, tested in test/gateway and in
 * route-rights.pg.test.ts).
 */
function apiRoutes(): { method: string; path: string; label: string }[] {
  const seen = new Set<string>();
  const out: { method: string; path: string; label: string }[] = [];
  for (const r of t.app.routes) {
    if (r.method === "ALL" || r.path.startsWith("/console")) continue;
    if (r.path.startsWith("/typesense-api/")) continue;
    const label = `${r.method} ${r.path}`;
    if (seen.has(label) || PUBLIC.has(label)) continue;
    seen.add(label);
    // a syntactically valid value for every path parameter
    out.push({ method: r.method, path: r.path.replace(/:[A-Za-z_]+/g, UUID), label });
  }
  return out;
}

async function key(rights: string[]): Promise<string> {
  const res = await t.app.request(
    "/admin/api-keys",
    jsonInit("POST", { name: "m", rights }, admin),
  );
  expect(res.status).toBe(201);
  return ((await res.json()) as { data: { api_key: string } }).data.api_key;
}

function call(method: string, path: string, headers: Record<string, string>) {
  const init =
    method === "GET" || method === "DELETE"
      ? { method, headers }
      : jsonInit(method, "{malformed", headers);
  return t.app.request(path, init);
}

// Standards: every route has a test for 401 and 403. This walks the app's own
// route table, so a new route is covered the day it is added.
describe("auth matrix over every route", () => {
  it("401 without a key and with a wrong key, even with a malformed body", async () => {
    const routes = apiRoutes();
    expect(routes.length).toBeGreaterThan(25);
    // routes added since the matrix was written, named so their removal shows
    expect(routes.map((r) => r.label)).toContain("GET /admin/auth-log");
    for (const r of routes) {
      expect((await call(r.method, r.path, {})).status, `${r.label} no key`).toBe(401);
      expect(
        (await call(r.method, r.path, { "X-Athena-Key": "ath_0123456789abcdef.nope" })).status,
        `${r.label} wrong key`,
      ).toBe(401);
    }
  });

  it("403 for a valid key without the right; admin routes refuse gateway keys", async () => {
    const none = await key([]);
    const proxy = await key(["gateway.typesense_proxy"]);
    const searchOnly = await key(["gateway.typesense_search"]);
    for (const r of apiRoutes()) {
      const isAdmin = r.path.startsWith("/admin");
      const isSearch = r.label === "POST /typesense/search";
      expect(
        (await call(r.method, r.path, { "X-Athena-Key": none })).status,
        `${r.label} none`,
      ).toBe(403);
      const p = (await call(r.method, r.path, { "X-Athena-Key": proxy })).status;
      if (isAdmin) expect(p, `${r.label} proxy`).toBe(403);
      else expect(p, `${r.label} proxy`).not.toBe(403);
      const s = (await call(r.method, r.path, { "X-Athena-Key": searchOnly })).status;
      if (isSearch) expect(s, `${r.label} search-only`).not.toBe(403);
      else expect(s, `${r.label} search-only`).toBe(403);
    }
  });
});
