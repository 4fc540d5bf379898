import { beforeAll, describe, expect, it } from "vitest";
import { declaredBy } from "../../src/http/rights.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { admin, jsonInit, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const t = useTestApp(db, silentLogger);
/** A second app over the same database, given one route that declares nothing. */
const probe = useTestApp(db, silentLogger);
const UNDECLARED = "/typesense/undeclared-probe";
beforeAll(() => {
  // added before the app's first request (hono builds its matcher then)
  probe.app.get(UNDECLARED, (c) => c.text("reached"));
});

/** `METHOD /path` of every route of the app, and of those that declare a right. */
function routeTable(): { routes: Set<string>; declared: Map<string, string> } {
  const routes = new Set<string>();
  const declared = new Map<string, string>();
  for (const r of t.app.routes) {
    const d = declaredBy(r.handler);
    const label = `${r.method} ${r.path}`;
    // the search gateway authenticates with its own keys (test below, docs/gateway.md)
    if (r.path.startsWith("/typesense-api/")) continue;
    if (d) declared.set(label, d.right);
    if (r.method !== "ALL") routes.add(label);
  }
  return { routes, declared };
}

describe("rights are declared on each route", () => {
  it("every route of the app declares the right it needs", () => {
    const { routes, declared } = routeTable();
    expect(routes.size).toBeGreaterThan(30);
    const undeclared = [...routes].filter((r) => !declared.has(r));
    expect(undeclared).toEqual([]);
    // the console's mount declares its session auth; the probes are public
    expect(declared.get("ALL /console/*")).toBe("console");
    expect(declared.get("GET /health")).toBe("public");
    expect(declared.get("POST /typesense/search")).toBe("gateway.typesense_search");
    expect(declared.get("GET /admin/api-keys")).toBe("admin");
  });

  it("a route that declares no right is closed to every gateway key (fail closed)", async () => {
    const res = await probe.app.request(
      "/admin/api-keys",
      jsonInit("POST", { name: "all", rights: ["*"] }, admin),
    );
    const token = ((await res.json()) as { data: { api_key: string } }).data.api_key;
    expect((await probe.app.request(UNDECLARED)).status).toBe(401);
    const gw = await probe.app.request(UNDECLARED, { headers: { "X-Athena-Key": token } });
    expect(gw.status).toBe(403);
    expect((await probe.app.request(UNDECLARED, { headers: admin })).status).toBe(200);
  });

  it("every /typesense-api route but /health refuses a request without a search key (401)", async () => {
    const gateway = t.app.routes.filter(
      (r) => r.path.startsWith("/typesense-api/") && r.method !== "ALL" && !r.path.includes("*"),
    );
    expect(gateway.length).toBeGreaterThanOrEqual(5);
    for (const r of gateway) {
      const path = r.path.replaceAll(":name", "c");
      const res = await t.app.request(path, { method: r.method });
      expect([r.method, path, res.status]).toEqual([
        r.method,
        path,
        r.path === "/typesense-api/health" ? 200 : 401,
      ]);
    }
  });

  it("a path no route answers still needs a key: 401 without one, 404 with one", async () => {
    expect((await t.app.request("/typesense/nope")).status).toBe(401);
    expect((await t.app.request("/admin/nope", { headers: admin })).status).toBe(404);
  });
});

describe("writing routes declare the caches they invalidate", () => {
  it("a key used a moment ago stops working at once when it is deleted through the API", async () => {
    const res = await t.app.request(
      "/admin/api-keys",
      jsonInit("POST", { name: "cached", rights: ["gateway.typesense_proxy"] }, admin),
    );
    const created = (await res.json()) as { data: { key: { id: string }; api_key: string } };
    const { key, api_key } = created.data;
    const headers = { "X-Athena-Key": api_key };
    // verified and cached now (auth.ts keeps a verification for 2 s)
    expect((await t.app.request("/typesense/sync-jobs", { headers })).status).toBe(200);
    const del = await t.app.request(`/admin/api-keys/${key.id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(del.status).toBe(200);
    expect((await t.app.request("/typesense/sync-jobs", { headers })).status).toBe(401);
  });
});
