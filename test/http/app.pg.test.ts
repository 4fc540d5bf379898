import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { createMetrics } from "../../src/metrics/index.js";
import { capturingLogger } from "../support/log.js";
import { SQL_DIR, useTestDatabase } from "../support/pg.js";
import { admin, buildApp, jsonInit, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const cap = capturingLogger();
const t = useTestApp(db, () => cap.log, { bodyLimit: 2048 });

describe("request id", () => {
  it("echoes a given X-Request-Id and puts it in the request's log line", async () => {
    const res = await t.app.request("/typesense/sync-jobs", {
      headers: { ...admin, "X-Request-Id": "req-abc-123" },
    });
    expect(res.headers.get("x-request-id")).toBe("req-abc-123");
    const line = cap
      .lines()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.reqId === "req-abc-123");
    expect(line).toMatchObject({ method: "GET", path: "/typesense/sync-jobs", status: 200 });
  });

  it("generates one when absent or unusable, also on errors", async () => {
    const a = await t.app.request("/typesense/sync-jobs");
    expect(a.status).toBe(401);
    expect(a.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const b = await t.app.request("/health", { headers: { "X-Request-Id": "bad id with spaces" } });
    expect(b.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("envelope errors", () => {
  it("413 for a body above server.body_limit_bytes (authenticated)", async () => {
    const res = await t.app.request(
      "/typesense/search",
      jsonInit("POST", { q: "x".repeat(5000), job_id: "a" }, admin),
    );
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ status: "error", message: "Request body too large" });
  });

  it("404 envelope for unknown routes (after auth), 400 for malformed JSON", async () => {
    const nf = await t.app.request("/typesense/nope", { headers: admin });
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ status: "error", message: "Not found" });
    const bad = await t.app.request("/typesense/search", jsonInit("POST", "{", admin));
    expect(bad.status).toBe(400);
    const j = (await bad.json()) as { status: string; message: string };
    expect(j.status).toBe("error");
    expect(JSON.stringify(j)).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it("503 envelope from /ready when the control DB is unreachable", async () => {
    const { createPools } = await import("../../src/db/pool.js");
    const dead = "postgres://postgres:postgres@127.0.0.1:1/none";
    const pools = createPools({ controlUrl: dead, clients: {}, log: cap.log });
    try {
      const { app } = buildApp({ config: t.config, log: cap.log, pools, migrationsDir: SQL_DIR });
      const r = await app.request("/ready");
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({
        status: "error",
        error: { checks: { control_db: false, migrations: false } },
      });
      // a control-plane route with the admin key: DB down is 503, not 500
      const jobs = await app.request("/typesense/sync-jobs", { headers: admin });
      expect(jobs.status).toBe(503);
    } finally {
      await pools.close();
    }
  });

  it("/ready includes the extra probes", async () => {
    const { app } = buildApp({
      config: t.config,
      log: cap.log,
      pools: t.pools,
      migrationsDir: SQL_DIR,
      readiness: async () => ({ cdc_app: false }),
    });
    const r = await app.request("/ready");
    expect(r.status).toBe(503);
    const ok = await t.app.request("/ready");
    expect(await ok.json()).toMatchObject({
      data: { checks: { control_db: true, migrations: true } },
    });
  });
});

describe("OpenAPI", () => {
  it("the document is valid OpenAPI 3.1 and lists every route of the app", async () => {
    const doc = (await (await t.app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const v = new Validator();
    const res = await v.validate(doc as unknown as Parameters<Validator["validate"]>[0]);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
      ),
    );
    const routes = t.app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`)
      .filter((r) => !/ \/(openapi\.(json|yaml)|docs)$/.test(r))
      // Typesense's own API (the search gateway), described in docs/gateway.md, not here
      .filter((r) => !r.includes(" /typesense-api/"));
    expect(routes.length).toBeGreaterThan(25);
    for (const r of routes) expect(documented, r).toContain(r);
    for (const seed of [
      "POST /typesense/backends/test",
      "POST /typesense/collections/list",
      "POST /typesense/sync-jobs/{job_id}/run",
      "POST /typesense/search",
    ]) {
      expect(documented).toContain(seed);
    }
  });

  it("YAML equals JSON; /docs renders every path", async () => {
    const json = await (await t.app.request("/openapi.json")).json();
    const yaml = await t.app.request("/openapi.yaml");
    expect(yaml.headers.get("content-type")).toContain("yaml");
    expect(parseYaml(await yaml.text())).toEqual(json);
    const html = await (await t.app.request("/docs")).text();
    expect(html).toMatch(/^<!doctype html>/);
    for (const p of Object.keys((json as { paths: object }).paths)) expect(html).toContain(p);
  });
});

describe("metrics", () => {
  it("counts requests by route pattern and serves /metrics to authenticated callers", async () => {
    const metrics = createMetrics({ processMetrics: false });
    const { app } = buildApp({
      config: t.config,
      log: cap.log,
      pools: t.pools,
      migrationsDir: SQL_DIR,
      metrics,
    });
    await app.request("/typesense/sync-jobs/00000000-0000-4000-8000-000000000000", {
      headers: admin,
    });
    expect((await app.request("/metrics")).status).toBe(401);
    const text = await (await app.request("/metrics", { headers: admin })).text();
    expect(text).toContain('route="/typesense/sync-jobs/:job_id"');
    expect(text).not.toContain("00000000-0000-4000");
  });
});
