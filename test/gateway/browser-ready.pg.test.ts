import { Errors } from "typesense";
import { beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/index.js";
import { createAuthLogWriter } from "../../src/control/auth-log-writer.js";
import { createMetrics } from "../../src/metrics/index.js";
import { ADMIN_KEY, useListeningServer } from "../http/fixture.js";
import { useSyncedJob } from "../http/synced-job.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { gatewayClient, mintSearchKey, TENANT_DOCS } from "./support.js";

const ORIGIN = "https://shop.example";
const metrics = createMetrics({ processMetrics: false });
const db = useTestDatabase();
const ts = useTypesense();
const job = useSyncedJob(db, ts, silentLogger, {
  source: TENANT_DOCS,
  app: {
    gateway: { cors_origins: [ORIGIN], rate_limit: { per_second: 1000, burst: 1000 } },
    metrics,
    // flushed by hand, so each test reads what it caused
    authLog: (pools) =>
      createAuthLogWriter({ pool: pools.control, log: silentLogger(), flushIntervalMs: 60_000 }),
  },
});
const server = useListeningServer(job.t, silentLogger);
const key = { token: "", publicId: "" };
beforeAll(async () => {
  Object.assign(key, await mintSearchKey(job, { job_ids: [job.jobId], filter_by: "tenant_id:=1" }));
});
const searchUrl = () =>
  `${server.base}/typesense-api/collections/${job.collection}/documents/search?q=*`;

describe("CORS for gateway.cors_origins", () => {
  it("answers a preflight from a configured origin without any key", async () => {
    const res = await fetch(`${server.base}/typesense-api/multi_search`, {
      method: "OPTIONS",
      headers: {
        Origin: ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-typesense-api-key,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "x-typesense-api-key",
    );
  });

  it("allows the configured origin on answers, and no other origin", async () => {
    const ok = await fetch(searchUrl(), {
      headers: { Origin: ORIGIN, "X-TYPESENSE-API-KEY": key.token },
    });
    expect([ok.status, ok.headers.get("access-control-allow-origin")]).toEqual([200, ORIGIN]);
    const other = await fetch(searchUrl(), {
      headers: { Origin: "https://evil.example", "X-TYPESENSE-API-KEY": key.token },
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("config: a comma-separated string is a list, a bad origin names the key", () => {
    const base = { control_database_url: "postgres://x/y", auth: { admin_key: ADMIN_KEY } };
    const c = configSchema.parse({
      ...base,
      gateway: { cors_origins: `${ORIGIN}, http://a:3000` },
    });
    expect(c.gateway.cors_origins).toEqual([ORIGIN, "http://a:3000"]);
    const bad = configSchema.safeParse({ ...base, gateway: { cors_origins: ["shop.example/"] } });
    expect(bad.error?.issues[0]?.path).toEqual(["gateway", "cors_origins", 0]);
  });
});

describe("per-key rate limit", () => {
  it("answers 429 with Retry-After once a key's bucket is empty; other keys go on", async () => {
    const slow = await mintSearchKey(job, {
      job_ids: [job.jobId],
      rate_per_second: 0.5,
      rate_burst: 2,
    });
    const get = (k: string) => fetch(searchUrl(), { headers: { "X-TYPESENSE-API-KEY": k } });
    expect((await get(slow.token)).status).toBe(200);
    expect((await get(slow.token)).status).toBe(200);
    const limited = await get(slow.token);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await limited.json()).toEqual({ message: "Rate limit exceeded or blocked" });
    // scoped keys minted from it share its bucket
    const scoped = ts.client.keys().generateScopedSearchKey(slow.token, { per_page: 1 });
    expect((await get(scoped)).status).toBe(429);
    expect((await get(key.token)).status).toBe(200);
    // the official client surfaces it as an HTTP error with status 429 (not retried)
    const c = gatewayClient(server.base, slow.token);
    const err = await c
      .collections(job.collection)
      .documents()
      .search({ q: "*" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.HTTPError);
    expect((err as { httpStatus?: number }).httpStatus).toBe(429);
  });
});

describe("per-key metrics and the auth attempt log", () => {
  it("counts requests and latency per search key and route", async () => {
    await fetch(searchUrl(), { headers: { "X-TYPESENSE-API-KEY": key.token } });
    const text = await metrics.registry.metrics();
    const route = "/typesense-api/collections/:name/documents/search";
    expect(text).toContain(
      `athena_ts_gateway_requests_total{key="${key.publicId}",route="${route}",status="200"}`,
    );
    expect(text).toMatch(
      new RegExp(`athena_ts_gateway_request_duration_seconds_count\\{key="${key.publicId}"`),
    );
  });

  it("records refused attempts (no key, wrong key, out-of-scope collection) without any secret", async () => {
    await job.t.authLog?.flush();
    await db.pool.query("delete from api_key_auth_log");
    const scoped = ts.client.keys().generateScopedSearchKey(key.token, { filter_by: "x:=1" });
    await fetch(searchUrl());
    await fetch(searchUrl(), { headers: { "X-TYPESENSE-API-KEY": "f".repeat(64) } });
    await fetch(`${server.base}/typesense-api/collections/elsewhere`, {
      headers: { "X-TYPESENSE-API-KEY": scoped },
    });
    await job.t.authLog?.flush();
    const rows = await db.pool.query(
      `select key_public_id, method, route, right_needed, outcome, status, reason
         from api_key_auth_log order by status desc, reason collate "C"`,
    );
    expect(rows.rows).toEqual([
      expect.objectContaining({
        key_public_id: key.publicId,
        route: "/typesense-api/collections/:name",
        right_needed: "gateway.search_key",
        outcome: "refused",
        status: 404,
        reason: "collection not in the key's scope",
      }),
      expect.objectContaining({ key_public_id: "none", status: 401, reason: "API key required" }),
      expect.objectContaining({ key_public_id: "none", status: 401, reason: "Invalid API key" }),
    ]);
    const all = JSON.stringify(rows.rows);
    expect(all).not.toContain(key.token.slice(12));
    expect(all).not.toContain(scoped.slice(0, 20));
  });
});
