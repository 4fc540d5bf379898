import { describe, expect, it } from "vitest";
import type { AuthLogRow } from "../../src/control/auth-log.js";
import { createAuthLogWriter } from "../../src/control/auth-log-writer.js";
import { createPools } from "../../src/db/pool.js";
import { silentLogger } from "../support/log.js";
import { SQL_DIR, useTestDatabase } from "../support/pg.js";
import { ADMIN_KEY, admin, buildApp, jsonInit, testConfig, useTestApp } from "./fixture.js";

const db = useTestDatabase();
// flushed by hand (flush()) so each test reads exactly what it caused
const t = useTestApp(db, silentLogger, {
  authLog: (pools) =>
    createAuthLogWriter({ pool: pools.control, log: silentLogger(), flushIntervalMs: 60_000 }),
});
const UUID = "00000000-0000-4000-8000-000000000000";

async function createKey(rights: string[]): Promise<{ token: string; publicId: string }> {
  const res = await t.app.request(
    "/admin/api-keys",
    jsonInit("POST", { name: "k", rights }, admin),
  );
  expect(res.status).toBe(201);
  const j = (await res.json()) as { data: { key: { public_id: string }; api_key: string } };
  return { token: j.data.api_key, publicId: j.data.key.public_id };
}

/** Writes what is buffered, returns every row, and empties the table for the next test. */
async function drain(): Promise<AuthLogRow[]> {
  await t.authLog?.flush();
  const r = await db.pool.query<AuthLogRow>(
    "delete from api_key_auth_log returning *, attempts::int as attempts",
  );
  return r.rows;
}

const pick = (r: AuthLogRow) => ({
  key: r.key_public_id,
  method: r.method,
  route: r.route,
  right: r.right_needed,
  outcome: r.outcome,
  status: r.status,
  reason: r.reason,
  addr: r.client_addr,
  n: Number(r.attempts),
});

describe("auth log: what is recorded", () => {
  it("records each refusal with the route pattern, the right, the reason and the claimed key, never a secret", async () => {
    const proxy = await createKey(["gateway.typesense_proxy"]);
    await drain();
    const wrongSecret = `ath_${proxy.publicId}.${"0".repeat(64)}`;
    const unknown = `ath_0123456789abcdef.${"1".repeat(64)}`;
    const calls: [string, RequestInit, number][] = [
      [`/typesense/sync-jobs/${UUID}`, {}, 401],
      [`/typesense/sync-jobs/${UUID}?api_key=${ADMIN_KEY}x`, {}, 401],
      [`/typesense/sync-jobs/${UUID}`, { headers: { "X-Athena-Key": wrongSecret } }, 401],
      ["/typesense/sync-jobs", { headers: { "X-Athena-Key": unknown } }, 401],
      [`/admin/api-keys/${UUID}`, { headers: { "X-Athena-Key": proxy.token } }, 403],
      ["/typesense/search", jsonInit("POST", "{bad", { Authorization: "Bearer not-a-key" }), 401],
    ];
    for (const [path, init, status] of calls) {
      expect((await t.app.request(path, init)).status, path).toBe(status);
    }
    const rows = await drain();
    expect(rows.map(pick)).toEqual(
      expect.arrayContaining([
        {
          key: "none",
          method: "GET",
          route: "/typesense/sync-jobs/:job_id",
          right: "gateway.typesense_proxy",
          outcome: "refused",
          status: 401,
          reason: "API key required",
          addr: "unknown",
          n: 2,
        },
        expect.objectContaining({ key: proxy.publicId, reason: "Invalid API key", n: 1 }),
        // an id no key has is stored as "none": random ids cannot make rows of their own
        expect.objectContaining({
          key: "none",
          route: "/typesense/sync-jobs",
          reason: "Invalid API key",
        }),
        expect.objectContaining({
          key: proxy.publicId,
          route: "/admin/api-keys/:id",
          right: "admin",
          status: 403,
          reason: "Insufficient API key rights",
        }),
        expect.objectContaining({
          key: "none",
          method: "POST",
          route: "/typesense/search",
          status: 401,
        }),
      ]),
    );
    expect(rows).toHaveLength(5);
    const text = JSON.stringify(rows);
    for (const secret of [
      proxy.token.split(".")[1]!,
      "0".repeat(64),
      "1".repeat(64),
      ADMIN_KEY,
      "not-a-key",
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain("?");
  });

  it("records admin calls to admin routes with their status, not admin calls elsewhere or allowed gateway calls", async () => {
    const proxy = await createKey(["gateway.typesense_proxy"]);
    await drain();
    expect((await t.app.request("/admin/api-keys", { headers: admin })).status).toBe(200);
    expect((await t.app.request(`/admin/api-keys/${UUID}`, { headers: admin })).status).toBe(404);
    expect((await t.app.request("/typesense/sync-jobs", { headers: admin })).status).toBe(200);
    const ok = await t.app.request("/typesense/sync-jobs", {
      headers: { "X-Athena-Key": proxy.token },
    });
    expect(ok.status).toBe(200);
    expect((await t.app.request("/health")).status).toBe(200);
    const rows = (await drain()).map(pick);
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          key: "admin",
          route: "/admin/api-keys",
          outcome: "allowed",
          status: 200,
        }),
        expect.objectContaining({
          key: "admin",
          route: "/admin/api-keys/:id",
          status: 404,
          right: "admin",
        }),
      ]),
    );
  });

  it("identical attempts in one minute are one row whose count grows across flushes", async () => {
    await drain();
    for (let i = 0; i < 3; i++) await t.app.request("/typesense/sync-runs");
    await t.authLog?.flush();
    for (let i = 0; i < 4; i++) await t.app.request("/typesense/sync-runs");
    const rows = await drain();
    expect(rows.map(pick)).toEqual([
      expect.objectContaining({ route: "/typesense/sync-runs", n: 7 }),
    ]);
  });

  it("a path no route answers is logged as (no route), not as its raw text", async () => {
    await drain();
    await t.app.request(`/nope/${"x".repeat(50)}`);
    await t.app.request("/other-random-path");
    const rows = (await drain()).map(pick);
    expect(rows).toEqual([expect.objectContaining({ route: "(no route)", n: 2 })]);
  });
});

describe("auth log: key store down", () => {
  it("a 503 (key validation unavailable) is recorded like any refusal", async () => {
    const dead = "postgres://postgres:postgres@127.0.0.1:1/none";
    const pools = createPools({ controlUrl: dead, clients: {}, log: silentLogger() });
    // the log itself writes to the live database: only the key store is down
    const authLog = createAuthLogWriter({ pool: db.pool, log: silentLogger() });
    try {
      const config = testConfig({ controlUrl: dead });
      const { app } = buildApp({
        config,
        log: silentLogger(),
        pools,
        migrationsDir: SQL_DIR,
        authLog,
      });
      const token = `ath_${"1".repeat(16)}.${"2".repeat(64)}`;
      const res = await app.request("/typesense/sync-jobs", { headers: { "X-Athena-Key": token } });
      expect(res.status).toBe(503);
      await drain();
      await authLog.flush();
      const rows = (await drain()).map(pick);
      expect(rows).toEqual([
        expect.objectContaining({ status: 503, reason: "API key validation unavailable", n: 1 }),
      ]);
    } finally {
      await pools.close();
    }
  });
});

describe("GET /admin/auth-log", () => {
  const get = async (q: string, headers: Record<string, string> = admin) => {
    const res = await t.app.request(`/admin/auth-log${q}`, { headers });
    return {
      status: res.status,
      body: (await res.json()) as { data: { rows: AuthLogRow[]; next_cursor: string | null } },
    };
  };

  it("401 without a key or with a wrong one, 403 for a gateway key, even with the right filters", async () => {
    const proxy = await createKey(["*"]);
    expect((await get("?outcome=refused", {})).status).toBe(401);
    expect((await get("", { "X-Athena-Key": `${ADMIN_KEY}x` })).status).toBe(401);
    expect((await get("", { "X-Athena-Key": proxy.token })).status).toBe(403);
  });

  it("filters by outcome, key_id, since and until, and pages newest first with next_cursor", async () => {
    const proxy = await createKey(["gateway.typesense_proxy"]);
    await drain();
    await t.app.request("/typesense/sync-jobs"); // refused, none
    await t.app.request("/admin/api-key-rights", { headers: { "X-Athena-Key": proxy.token } });
    await t.app.request("/admin/api-key-rights", { headers: admin }); // allowed, admin
    await t.authLog?.flush();

    const refused = (await get("?outcome=refused")).body.data.rows;
    expect(refused.map((r) => r.key_public_id).sort()).toEqual(["none", proxy.publicId].sort());
    const byKey = (await get(`?key_id=${proxy.publicId}`)).body.data.rows;
    expect(byKey.map((r) => [r.route, r.status])).toEqual([["/admin/api-key-rights", 403]]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await get(`?since=${encodeURIComponent(future)}`)).body.data.rows).toEqual([]);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect((await get(`?until=${encodeURIComponent(past)}`)).body.data.rows).toEqual([]);

    // the GET calls above are admin calls too: page through everything, two at a time
    await t.authLog?.flush();
    const all = (await get("?limit=500")).body.data.rows;
    const seen: string[] = [];
    let cursor = "";
    for (let i = 0; i < 20; i++) {
      const page = await get(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.body.data.rows.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.rows.map((r) => r.id));
      if (!page.body.data.next_cursor) break;
      cursor = page.body.data.next_cursor;
    }
    expect(seen).toEqual(all.map((r) => r.id));
    expect(all.map((r) => Number(r.id))).toEqual(
      [...all.map((r) => Number(r.id))].sort((a, b) => b - a),
    );
  });

  it("bad filters are 400 naming the field", async () => {
    for (const [q, field] of [
      ["?outcome=maybe", "query.outcome"],
      ["?since=yesterday", "query.since"],
      ["?cursor=abc", "query.cursor"],
      ["?limit=0", "query.limit"],
    ] as const) {
      const res = await t.app.request(`/admin/auth-log${q}`, { headers: admin });
      expect(res.status, q).toBe(400);
      expect(JSON.stringify(await res.json()), q).toContain(field);
    }
  });
});
