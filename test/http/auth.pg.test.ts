import { describe, expect, it } from "vitest";
import { createPools } from "../../src/db/pool.js";
import { capturingLogger, silentLogger } from "../support/log.js";
import { SQL_DIR, useTestDatabase } from "../support/pg.js";
import { ADMIN_KEY, admin, buildApp, jsonInit, testConfig, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const t = useTestApp(db, silentLogger);

async function createKey(body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const res = await t.app.request(
    "/admin/api-keys",
    jsonInit("POST", { name: "k", ...body }, admin),
  );
  expect(res.status).toBe(201);
  const json = (await res.json()) as { data: { key: { id: string }; api_key: string } };
  return { id: json.data.key.id, token: json.data.api_key };
}

const body = async (res: Response) => (await res.json()) as { status: string; message: string };

describe("auth: credential forms", () => {
  const forms: [string, (k: string) => Record<string, string>][] = [
    ["X-Athena-Key", (k) => ({ "X-Athena-Key": k })],
    ["X-Athena-Admin-Key", (k) => ({ "X-Athena-Admin-Key": k })],
    ["Authorization: Bearer", (k) => ({ Authorization: `Bearer ${k}` })],
    ["apikey", (k) => ({ apikey: k })],
    ["X-API-Key", (k) => ({ "X-API-Key": k })],
  ];
  for (const [name, h] of forms) {
    it(`${name}: admin key accepted, wrong key 401 "Invalid API key"`, async () => {
      const ok = await t.app.request("/admin/api-keys", { headers: h(ADMIN_KEY) });
      expect(ok.status).toBe(200);
      const bad = await t.app.request("/admin/api-keys", { headers: h(`${ADMIN_KEY}x`) });
      expect(bad.status).toBe(401);
      expect(await body(bad)).toEqual({
        status: "error",
        code: "AUTH_INVALID",
        message: "Invalid API key",
      });
    });
    it(`${name}: wrong key with a malformed body still 401 (auth before parsing)`, async () => {
      for (const path of ["/typesense/search", "/admin/api-keys", "/typesense/sync-jobs"]) {
        const res = await t.app.request(path, {
          method: "POST",
          headers: { "content-type": "application/json", ...h("nope") },
          body: "{not json",
        });
        expect(res.status).toBe(401);
      }
    });
  }

  it('no credentials: 401 "API key required", even with a malformed or huge body', async () => {
    for (const b of ["{not json", "", "x".repeat(200_000)]) {
      const res = await t.app.request("/typesense/search", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: b,
      });
      expect(res.status).toBe(401);
      expect(await body(res)).toEqual({
        status: "error",
        code: "AUTH_REQUIRED",
        message: "API key required",
      });
    }
  });

  it("authenticated malformed body: 400, not 401", async () => {
    const res = await t.app.request("/admin/api-keys", jsonInit("POST", "{not json", admin));
    expect(res.status).toBe(400);
  });

  it("public routes need no key", async () => {
    for (const p of ["/health", "/ready", "/openapi.json", "/openapi.yaml", "/docs"]) {
      expect((await t.app.request(p)).status, p).toBe(200);
    }
  });
});

describe("auth: gateway keys", () => {
  it("proxy key reaches /typesense/*, not /admin/*", async () => {
    const { token } = await createKey({ rights: ["gateway.typesense_proxy"] });
    const ok = await t.app.request("/typesense/sync-jobs", { headers: { "X-Athena-Key": token } });
    expect(ok.status).toBe(200);
    const bearer = await t.app.request("/typesense/sync-runs", {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(bearer.status).toBe(200);
    const adm = await t.app.request("/admin/api-keys", { headers: { "X-Athena-Key": token } });
    expect(adm.status).toBe(403);
    expect(await body(adm)).toEqual({
      status: "error",
      code: "RIGHTS_INSUFFICIENT",
      message: "Insufficient API key rights",
    });
  });

  it("wildcards gateway.* and * cover the proxy right", async () => {
    for (const right of ["gateway.*", "*"]) {
      const { token } = await createKey({ rights: [right] });
      const res = await t.app.request("/typesense/cdc-streams", {
        headers: { "X-Athena-Key": token },
      });
      expect(res.status, right).toBe(200);
    }
  });

  it("a key without rights gets 403", async () => {
    const { token } = await createKey({ rights: [] });
    const res = await t.app.request("/typesense/sync-jobs", { headers: { "X-Athena-Key": token } });
    expect(res.status).toBe(403);
  });

  it("search-only key: /typesense/search passes auth, control plane and admin are 403", async () => {
    const { token } = await createKey({ rights: ["gateway.typesense_search"] });
    const h = { "X-Athena-Key": token };
    // passes auth, then fails validation: proves the right was accepted
    const search = await t.app.request("/typesense/search", jsonInit("POST", {}, h));
    expect(search.status).toBe(400);
    for (const [m, p] of [
      ["GET", "/typesense/sync-jobs"],
      ["POST", "/typesense/backends/test"],
      ["POST", "/typesense/collections/list"],
      ["GET", "/admin/api-keys"],
    ] as const) {
      const res = await t.app.request(
        p,
        jsonInit(m === "GET" ? "GET" : "POST", m === "GET" ? undefined : {}, h),
      );
      expect(res.status, `${m} ${p}`).toBe(403);
    }
  });

  it("client binding: X-Athena-Client must match", async () => {
    const { token } = await createKey({ client_name: "app", rights: ["gateway.typesense_proxy"] });
    const path = "/typesense/sync-jobs";
    const none = await t.app.request(path, { headers: { "X-Athena-Key": token } });
    expect(none.status).toBe(403);
    expect(await body(none)).toEqual({
      status: "error",
      code: "CLIENT_MISMATCH",
      message: "API key client mismatch",
    });
    const other = await t.app.request(path, {
      headers: { "X-Athena-Key": token, "X-Athena-Client": "other" },
    });
    expect(other.status).toBe(403);
    const ok = await t.app.request(path, {
      headers: { "X-Athena-Key": token, "X-Athena-Client": "app" },
    });
    expect(ok.status).toBe(200);
  });

  it("inactive, expired, unknown and tampered keys: 401 with Athena's messages", async () => {
    const k = await createKey({ rights: ["*"] });
    const h = { "X-Athena-Key": k.token };
    const patch = await t.app.request(
      `/admin/api-keys/${k.id}`,
      jsonInit("PATCH", { is_active: false }, admin),
    );
    expect(patch.status).toBe(200);
    const inactive = await t.app.request("/typesense/sync-jobs", { headers: h });
    expect(await body(inactive)).toEqual({
      status: "error",
      code: "AUTH_INACTIVE",
      message: "Inactive API key",
    });

    // created valid (a past expires_at is refused at creation), then expired by PATCH
    const e = await createKey({ rights: ["*"] });
    const expire = await t.app.request(
      `/admin/api-keys/${e.id}`,
      jsonInit("PATCH", { expires_at: new Date(Date.now() - 1000).toISOString() }, admin),
    );
    expect(expire.status).toBe(200);
    const expired = await t.app.request("/typesense/sync-jobs", {
      headers: { "X-Athena-Key": e.token },
    });
    expect(expired.status).toBe(401);
    expect(await body(expired)).toEqual({
      status: "error",
      code: "AUTH_EXPIRED",
      message: "Expired API key",
    });

    const unknown = `ath_${"0".repeat(16)}.${"a".repeat(64)}`;
    const tampered = `${e.token.slice(0, -1)}${e.token.endsWith("a") ? "b" : "a"}`;
    for (const bad of [unknown, tampered, "ath_short.x"]) {
      const res = await t.app.request("/typesense/sync-jobs", { headers: { "X-Athena-Key": bad } });
      expect(res.status).toBe(401);
      expect(await body(res)).toEqual({
        status: "error",
        code: "AUTH_INVALID",
        message: "Invalid API key",
      });
    }
  });

  it("a key cannot be created already expired: 400 naming expires_at, no key made", async () => {
    const before = await t.app.request("/admin/api-keys", { headers: admin });
    const count = ((await before.json()) as { data: unknown[] }).data.length;
    const past = new Date(Date.now() - 60_000).toISOString();
    const res = await t.app.request(
      "/admin/api-keys",
      jsonInit("POST", { name: "late", expires_at: past }, admin),
    );
    expect(res.status).toBe(400);
    const j = (await res.json()) as { error: { issues: { path: string; message: string }[] } };
    expect(j.error.issues).toEqual([
      expect.objectContaining({
        path: "body.expires_at",
        message: "expires_at must be in the future",
      }),
    ]);
    const after = await t.app.request("/admin/api-keys", { headers: admin });
    expect(((await after.json()) as { data: unknown[] }).data.length).toBe(count);
    // a future expiry is fine
    await createKey({ expires_at: new Date(Date.now() + 3_600_000).toISOString() });
  });

  it("last_used_at is recorded after a successful call", async () => {
    const k = await createKey({ rights: ["gateway.typesense_proxy"] });
    await t.app.request("/typesense/sync-jobs", { headers: { "X-Athena-Key": k.token } });
    let used: Date | null = null;
    for (let i = 0; i < 50 && !used; i++) {
      const r = await db.pool.query("select last_used_at from api_keys where id = $1", [k.id]);
      used = r.rows[0].last_used_at;
      if (!used) await new Promise((res) => setTimeout(res, 20));
    }
    expect(used).toBeInstanceOf(Date);
  });
});

describe("auth: key store unavailable", () => {
  it("fails closed with 503 for gateway keys; the admin key still works", async () => {
    // a control DB URL where nothing listens: the key store is down
    const dead = "postgres://postgres:postgres@127.0.0.1:1/none";
    const cap = capturingLogger();
    const config = testConfig({ controlUrl: dead });
    const pools = createPools({ controlUrl: dead, clients: {}, log: cap.log });
    try {
      const { app } = buildApp({ config, log: cap.log, pools, migrationsDir: SQL_DIR });
      const token = `ath_${"1".repeat(16)}.${"2".repeat(64)}`;
      const res = await app.request("/typesense/sync-jobs", { headers: { "X-Athena-Key": token } });
      expect(res.status).toBe(503);
      expect(await body(res)).toEqual({
        status: "error",
        code: "AUTH_UNAVAILABLE",
        message: "API key validation unavailable",
      });
      const adm = await app.request("/health", { headers: admin });
      expect(adm.status).toBe(200);
      const ready = await app.request("/ready");
      expect(ready.status).toBe(503);
      expect(cap.lines().join("\n")).not.toContain("2".repeat(64));
    } finally {
      await pools.close();
    }
  });
});

describe("api keys admin routes", () => {
  it("create shows the secret once; list/get never show secrets, salts or hashes", async () => {
    const k = await createKey({
      name: "listed",
      description: "d",
      rights: ["gateway.typesense_search"],
    });
    expect(k.token).toMatch(/^ath_[0-9a-f]{16}\.[0-9a-f]{64}$/);
    const list = await t.app.request("/admin/api-keys", { headers: admin });
    const text = await list.text();
    const secret = k.token.split(".")[1]!;
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/key_hash|key_salt/);
    const row = await db.pool.query("select key_hash, key_salt from api_keys where id = $1", [
      k.id,
    ]);
    expect(text).not.toContain(row.rows[0].key_hash);
    const one = await t.app.request(`/admin/api-keys/${k.id}`, { headers: admin });
    const data = ((await one.json()) as { data: { rights: string[]; name: string } }).data;
    expect(data).toMatchObject({ name: "listed", rights: ["gateway.typesense_search"] });
  });

  it("patch rights replaces the grants; unknown right is 400 naming it", async () => {
    const k = await createKey({ rights: ["gateway.typesense_search"] });
    const res = await t.app.request(
      `/admin/api-keys/${k.id}`,
      jsonInit("PATCH", { rights: ["gateway.typesense_proxy"] }, admin),
    );
    expect(((await res.json()) as { data: { rights: string[] } }).data.rights).toEqual([
      "gateway.typesense_proxy",
    ]);
    const bad = await t.app.request(
      `/admin/api-keys/${k.id}`,
      jsonInit("PATCH", { rights: ["nope.x"] }, admin),
    );
    expect(bad.status).toBe(400);
    expect((await body(bad)).message).toContain("nope.x");
  });

  it("delete: the key stops working; unknown id 404", async () => {
    const k = await createKey({ rights: ["gateway.typesense_proxy"] });
    const del = await t.app.request(`/admin/api-keys/${k.id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(del.status).toBe(200);
    const after = await t.app.request("/typesense/sync-jobs", {
      headers: { "X-Athena-Key": k.token },
    });
    expect(after.status).toBe(401);
    const again = await t.app.request(`/admin/api-keys/${k.id}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(again.status).toBe(404);
    const junk = await t.app.request("/admin/api-keys/not-a-uuid", {
      method: "DELETE",
      headers: admin,
    });
    expect(junk.status).toBe(404);
  });

  it("validation: 400 lists the zod issues", async () => {
    const res = await t.app.request(
      "/admin/api-keys",
      jsonInit("POST", { name: "", extra: 1 }, admin),
    );
    expect(res.status).toBe(400);
    const j = (await res.json()) as { error: { issues: { path: string }[] } };
    expect(j.error.issues.map((i) => i.path)).toContain("body.name");
  });

  it("rights list", async () => {
    const res = await t.app.request("/admin/api-key-rights", { headers: admin });
    const names = ((await res.json()) as { data: { name: string }[] }).data.map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining(["gateway.typesense_proxy", "gateway.typesense_search"]),
    );
  });
});
