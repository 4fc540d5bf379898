import { beforeAll, describe, expect, it } from "vitest";
import { capturingLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import {
  ADMIN_KEY,
  jsonInit,
  useListeningServer,
  useSourceDatabase,
  useTestApp,
} from "./fixture.js";

/**
 * Throws a few thousand random or malformed requests (methods, paths, headers,
 * bodies) at a REAL listening server and checks that nothing answers 5xx
 * except the intended 503/504 of routes that call Typesense, that every
 * response is an envelope, and that the process is still serving afterwards.
 * Deterministic: a seeded PRNG, so a failure reproduces.
 */
const COUNT = 3000;
const CONCURRENCY = 8;

const db = useTestDatabase();
const ts = useTypesense();
const src = useSourceDatabase(
  "create table items (id int primary key, name text, n int)",
  "insert into items select i, 'item ' || i, i from generate_series(1, 5) i",
);
const cap = capturingLogger("info");
const t = useTestApp(db, () => cap.log, { clients: () => ({ app: src.url }), bodyLimit: 8192 });

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

// Routes whose handlers call Typesense: 503/504 are their intended answers to an outage.
const TYPESENSE_ROUTES =
  /^\/typesense\/(search|collections\/list|backends\/test|dead-letters\/[^/]+\/retry)$/;

describe("fuzz", () => {
  const server = useListeningServer(t, () => cap.log);
  let base = "";
  let jobId = "";
  let backendId = "";

  beforeAll(async () => {
    base = server.base;
    const h = { "X-Athena-Key": ADMIN_KEY };
    const b = await fetch(
      `${base}/typesense/backends`,
      jsonInit("POST", { name: "emu", base_url: ts.url, api_key: ts.apiKey, timeout_ms: 2000 }, h),
    );
    backendId = ((await b.json()) as { data: { id: string } }).data.id;
    const j = await fetch(
      `${base}/typesense/sync-jobs`,
      jsonInit(
        "POST",
        {
          profile_id: backendId,
          source_client_name: "app",
          source_table_name: "items",
          collection_name: ts.uniqueName("items"),
          document_id_column: "id",
          queryable_fields: ["name"],
        },
        h,
      ),
    );
    jobId = ((await j.json()) as { data: { id: string } }).data.id;
  });

  it(`${COUNT} random requests: no unintended 5xx, always an envelope, server still up`, async () => {
    const rnd = prng(20261123);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const ids = () =>
      pick([
        jobId,
        backendId,
        "00000000-0000-4000-8000-000000000000",
        "x",
        "%00",
        "..%2F..",
        "é",
        "9".repeat(300),
        "'; drop table x;--",
      ]);
    const paths = () =>
      pick([
        "/typesense/search",
        "/typesense/backends/test",
        "/typesense/collections/list",
        `/typesense/sync-jobs/${ids()}/run`,
        `/typesense/sync-jobs/${ids()}`,
        `/typesense/sync-jobs/${ids()}/status`,
        "/typesense/sync-jobs",
        "/typesense/sync-jobs/status",
        "/typesense/backends",
        `/typesense/backends/${ids()}`,
        "/typesense/sync-runs",
        `/typesense/sync-runs/${ids()}`,
        "/typesense/cdc-streams",
        `/typesense/cdc-streams/${ids()}`,
        "/typesense/dead-letters",
        `/typesense/dead-letters/${ids()}/retry`,
        `/typesense/dead-letters/${ids()}/discard`,
        "/admin/api-keys",
        `/admin/api-keys/${ids()}`,
        "/admin/api-key-rights",
        "/health",
        "/ready",
        "/openapi.json",
        "/nope",
        "/typesense/",
        "//typesense//search",
        "/typesense/search?limit=-1&job_id=",
        "/typesense/sync-runs?limit=abc&offset=-5",
      ]);
    const scalars = () =>
      pick<unknown>([
        null,
        true,
        0,
        -1,
        1e308,
        2 ** 63,
        "",
        "x",
        "é🙂",
        "a".repeat(3000),
        [],
        {},
        jobId,
        ts.url,
        "http://127.0.0.1:1",
        "https://127.0.0.1:1",
      ]);
    const keys = [
      "job_id",
      "q",
      "query_by",
      "filter_by",
      "sort_by",
      "per_page",
      "page",
      "source_client_name",
      "source_table_name",
      "source_schema_name",
      "profile_id",
      "base_url",
      "api_key",
      "timeout_ms",
      "name",
      "rights",
      "expires_at",
      "is_active",
      "collection_name",
      "document_id_column",
      "queryable_fields",
      "included_columns",
      "enabled",
      "facet_by",
      "include_fields",
      "__proto__",
    ];
    const body = (): string | undefined => {
      switch (Math.floor(rnd() * 7)) {
        case 0:
          return undefined;
        case 1:
          return "{";
        case 2:
          return String.fromCharCode(
            ...Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 65535)),
          );
        case 3:
          return JSON.stringify(scalars());
        case 4:
          return "[".repeat(2000) + "]".repeat(2000);
        default: {
          const o: Record<string, unknown> = {};
          const n = Math.floor(rnd() * 6);
          for (let i = 0; i < n; i++) o[pick(keys)] = scalars();
          if (rnd() < 0.5) o.job_id = jobId;
          return JSON.stringify(o);
        }
      }
    };
    const headers = (): Record<string, string> => {
      const h: Record<string, string> = {};
      const r = rnd();
      if (r < 0.5) h["X-Athena-Key"] = ADMIN_KEY;
      else if (r < 0.6)
        h.Authorization = pick([
          "Bearer",
          "Bearer ",
          `Basic ${ADMIN_KEY}`,
          `Bearer ath_${"a".repeat(16)}.${"b".repeat(64)}`,
        ]);
      else if (r < 0.7) h.apikey = pick(["", "ath_", "ath_zz.zz", "x".repeat(4000)]);
      if (rnd() < 0.5)
        h["content-type"] = pick([
          "application/json",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
        ]);
      if (rnd() < 0.2) h["X-Request-Id"] = pick(["ok-1", "bad id", "é", "x".repeat(500)]);
      if (rnd() < 0.2) h["X-Athena-Client"] = pick(["app", "", "other"]);
      return h;
    };

    const failures: string[] = [];
    let next = 0;
    const statuses = new Map<number, number>();
    const worker = async () => {
      while (next < COUNT) {
        next++;
        const method = pick(["GET", "POST", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"]);
        const path = paths();
        const b = method === "GET" || method === "OPTIONS" ? undefined : body();
        let res: Response;
        try {
          res = await fetch(`${base}${path}`, {
            method,
            headers: headers(),
            ...(b === undefined ? {} : { body: b }),
          });
        } catch (e) {
          failures.push(`${method} ${path}: transport error ${(e as Error).message}`);
          continue;
        }
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const pathOnly = new URL(`${base}${path}`).pathname;
        const intended =
          (res.status === 503 || res.status === 504) && TYPESENSE_ROUTES.test(pathOnly);
        if (res.status >= 500 && !intended)
          failures.push(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
        if (method === "GET" && pathOnly === "/openapi.json") continue;
        let envelope = false;
        try {
          const j = JSON.parse(text) as { status?: unknown; message?: unknown };
          envelope =
            (j.status === "success" || j.status === "error") && typeof j.message === "string";
        } catch {
          envelope = false;
        }
        if (!envelope)
          failures.push(`${method} ${path}: not an envelope: ${res.status} ${text.slice(0, 100)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(failures).toEqual([]);
    // the generator reached the handlers, not just the auth wall
    expect((statuses.get(200) ?? 0) + (statuses.get(202) ?? 0)).toBeGreaterThan(50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(30);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(100);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    const unhandled = cap.lines().filter((l) => l.includes("unhandled error"));
    expect(unhandled).toEqual([]);
    expect(cap.lines().join("\n")).not.toContain(ts.apiKey);
  }, 300_000);
});
