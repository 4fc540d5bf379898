import { beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { admin, jsonInit, useSourceDatabase, useTestApp } from "./fixture.js";

/**
 * Two source clients ("app" and "other", the same source database under two
 * names), one job each with a run, a dead letter and a CDC stream row, and a
 * gateway key bound to each client. A bound key reaches its own client's
 * objects and gets 404 (never 403) for the other client's; lists are filtered.
 */
const db = useTestDatabase();
const ts = useTypesense();
const src = useSourceDatabase(
  "create table items (id int primary key, name text)",
  "insert into items select i, 'item ' || i from generate_series(1, 3) i",
);
const t = useTestApp(db, silentLogger, { clients: () => ({ app: src.url, other: src.url }) });

interface Fixture {
  jobId: string;
  runId: string;
  letterId: string;
  headers: Record<string, string>;
}
const CLIENTS = ["app", "other"] as const;
const fx = {} as Record<(typeof CLIENTS)[number], Fixture>;
let backendId = "";

type Res = { status: number; json: { message: string; data: unknown; error?: unknown } };
async function call(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Res> {
  const init = body === undefined ? { method, headers } : jsonInit(method, body, { ...headers });
  const res = await t.app.request(path, init);
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}
const ids = (r: Res) => (r.json.data as { id: string }[]).map((x) => x.id).sort();

beforeAll(async () => {
  const b = await call("POST", "/typesense/backends", admin, {
    name: "emu",
    base_url: ts.url,
    api_key: ts.apiKey,
  });
  backendId = (b.json.data as { id: string }).id;
  for (const client of CLIENTS) {
    const collection = ts.uniqueName(`items_${client}`);
    await ts.client.collections().create({
      name: collection,
      fields: [{ name: "name", type: "string" }],
    });
    const j = await call("POST", "/typesense/sync-jobs", admin, {
      profile_id: backendId,
      source_client_name: client,
      source_table_name: "items",
      collection_name: collection,
      document_id_column: "id",
      queryable_fields: ["name"],
    });
    expect(j.status, JSON.stringify(j.json)).toBe(201);
    const jobId = (j.json.data as { id: string }).id;
    const run = await db.pool.query<{ id: string }>(
      `insert into typesense_sync_runs (job_id, trigger, status, stage, finished_at)
       values ($1, 'manual', 'succeeded', 'finished', now()) returning id`,
      [jobId],
    );
    const letter = await db.pool.query<{ id: string }>(
      `insert into typesense_dead_letters (job_id, origin, doc_id, operation, payload, error_code, error_message)
       values ($1, 'cdc', '1', 'delete', null, 400, 'rejected') returning id`,
      [jobId],
    );
    await db.pool.query(
      `insert into typesense_cdc_streams (source_client_name, slot_name, publication_name, status)
       values ($1, $2, $3, 'streaming')`,
      [client, `slot_${client}`, `pub_${client}`],
    );
    const k = await call("POST", "/admin/api-keys", admin, {
      name: `key ${client}`,
      client_name: client,
    });
    const token = (k.json.data as { api_key: string }).api_key;
    fx[client] = {
      jobId,
      runId: run.rows[0]!.id,
      letterId: letter.rows[0]!.id,
      headers: { "X-Athena-Key": token, "X-Athena-Client": client },
    };
  }
});

/**
 * Every route that names one job, run, dead letter, stream or search binding.
 * Each is called with the key of one client for the OTHER client's object:
 * its path parameters are filled from that client's fixture.
 */
const BY_ID = [
  "GET /typesense/sync-jobs/:job_id",
  "PATCH /typesense/sync-jobs/:job_id",
  "DELETE /typesense/sync-jobs/:job_id",
  "GET /typesense/sync-jobs/:job_id/status",
  "POST /typesense/sync-jobs/:job_id/run",
  "POST /typesense/sync-jobs/:job_id/rebuild",
  "POST /typesense/sync-jobs/:job_id/audit",
  "GET /typesense/sync-runs/:run_id",
  "GET /typesense/dead-letters/:dead_letter_id",
  "POST /typesense/dead-letters/:dead_letter_id/retry",
  "POST /typesense/dead-letters/:dead_letter_id/discard",
  "GET /typesense/cdc-streams/:source_client_name",
  "POST /typesense/search",
];
/** The request `label` makes for the objects of client `name`. */
function requestFor(label: string, name: string): [string, string, unknown?] {
  const o = fx[name as keyof typeof fx];
  const value: Record<string, string> = {
    job_id: o.jobId,
    run_id: o.runId,
    dead_letter_id: o.letterId,
    source_client_name: name,
  };
  const [method, tpl] = label.split(" ") as [string, string];
  const path = tpl.replace(/:(\w+)/g, (_m, p: string) => value[p]!);
  if (label === "POST /typesense/search") return [method, path, { job_id: o.jobId }];
  if (method === "PATCH") return [method, path, { enabled: false }];
  return method === "POST" ? [method, path, {}] : [method, path];
}
/** Lists: checked for their filtering below. */
const LISTS = [
  "GET /typesense/sync-jobs",
  "POST /typesense/sync-jobs",
  // a preview names a client like create does (checked with create below)
  "POST /typesense/sync-jobs/preview",
  "GET /typesense/sync-jobs/status",
  "GET /typesense/sync-runs",
  "GET /typesense/dead-letters",
  "GET /typesense/cdc-streams",
];
/**
 * Routes that do not name a client's objects: saved backends are shared by
 * every client (docs/api.md; bound keys cannot change them and list only their
 * own collections on them, tested below), /metrics is refused to bound keys.
 * /typesense-api (the search gateway) takes no gateway keys at all: its keys carry their own
 * scope (test/gateway/tenant-isolation.pg.test.ts).
 */
const NOT_CLIENT_OBJECTS = /^(\w+) \/typesense\/(backends|collections)|^GET \/metrics$/;

describe("client-bound gateway keys see only their client", () => {
  it("every job/run/dead-letter/stream/search route is covered here (a new route must be added)", () => {
    const labels = new Set<string>();
    for (const r of t.app.routes) {
      if (r.method === "ALL" || !r.path.startsWith("/typesense/")) continue;
      const label = `${r.method} ${r.path}`;
      if (!NOT_CLIENT_OBJECTS.test(label)) labels.add(label);
    }
    expect([...labels].sort()).toEqual([...BY_ID, ...LISTS].sort());
  });

  it("the other client's jobs, runs, dead letters, stream and search are 404 on every route", async () => {
    for (const [me, other] of [
      ["app", "other"],
      ["other", "app"],
    ] as const) {
      for (const label of BY_ID) {
        const [method, path, body] = requestFor(label, other);
        const r = await call(method, path, fx[me].headers, body);
        expect(r.status, `${me} -> ${label}: ${JSON.stringify(r.json)}`).toBe(404);
      }
    }
    // nothing was changed through those calls
    const job = await call("GET", `/typesense/sync-jobs/${fx.other.jobId}`, admin);
    expect(job.json.data).toMatchObject({ enabled: true });
    const letter = await call("GET", `/typesense/dead-letters/${fx.other.letterId}`, admin);
    expect(letter.json.data).toMatchObject({ status: "open" });
    const runs = await call("GET", `/typesense/sync-runs?job_id=${fx.other.jobId}`, admin);
    expect((runs.json.data as unknown[]).length).toBe(1);
  });

  it("search by client + table: the other client's table is 404, its own is found", async () => {
    const h = fx.app.headers;
    const by = (client: string) => ({ source_client_name: client, source_table_name: "items" });
    expect((await call("POST", "/typesense/search", h, by("other"))).status).toBe(404);
    const own = await call("POST", "/typesense/search", h, by("app"));
    expect(own.status, JSON.stringify(own.json)).toBe(200);
    expect(own.json.data).toMatchObject({ job_id: fx.app.jobId });
    const ownById = await call("POST", "/typesense/search", h, { job_id: fx.app.jobId });
    expect(ownById.status).toBe(200);
  });

  it("its own objects answer as usual on the same routes", async () => {
    const m = fx.app;
    for (const [method, path] of [
      ["GET", `/typesense/sync-jobs/${m.jobId}`],
      ["GET", `/typesense/sync-jobs/${m.jobId}/status`],
      ["GET", `/typesense/sync-runs/${m.runId}`],
      ["GET", `/typesense/dead-letters/${m.letterId}`],
      ["GET", "/typesense/cdc-streams/app"],
    ] as const) {
      expect((await call(method, path, m.headers)).status, path).toBe(200);
    }
    const patched = await call("PATCH", `/typesense/sync-jobs/${m.jobId}`, m.headers, {
      stale_after_seconds: 7200,
    });
    expect(patched.status, JSON.stringify(patched.json)).toBe(200);
  });

  it("lists hold only the key's client; a filter naming the other client is empty", async () => {
    const h = fx.app.headers;
    const o = fx.other;
    expect(ids(await call("GET", "/typesense/sync-jobs", h))).toEqual([fx.app.jobId]);
    expect(ids(await call("GET", "/typesense/sync-jobs?source_client_name=other", h))).toEqual([]);
    expect(ids(await call("GET", "/typesense/sync-jobs/status", h))).toEqual([fx.app.jobId]);
    expect(ids(await call("GET", "/typesense/sync-runs", h))).toEqual([fx.app.runId]);
    expect(ids(await call("GET", `/typesense/sync-runs?job_id=${o.jobId}`, h))).toEqual([]);
    expect(ids(await call("GET", "/typesense/dead-letters", h))).toEqual([fx.app.letterId]);
    expect(ids(await call("GET", `/typesense/dead-letters?job_id=${o.jobId}`, h))).toEqual([]);
    const streams = await call("GET", "/typesense/cdc-streams", h);
    expect(
      (streams.json.data as { source_client_name: string }[]).map((s) => s.source_client_name),
    ).toEqual(["app"]);
    // the admin key still sees both clients
    expect(ids(await call("GET", "/typesense/sync-jobs", admin))).toEqual(
      [fx.app.jobId, fx.other.jobId].sort(),
    );
  });

  it("a bound key cannot create a job for, or move its job to, another client (400 naming the field)", async () => {
    const h = fx.app.headers;
    const create = await call("POST", "/typesense/sync-jobs", h, {
      profile_id: backendId,
      source_client_name: "other",
      source_table_name: "items",
      collection_name: ts.uniqueName("sneaky"),
      document_id_column: "id",
      queryable_fields: ["name"],
    });
    expect(create.status).toBe(400);
    expect(create.json.error).toEqual({ field: "source_client_name" });
    const preview = await call("POST", "/typesense/sync-jobs/preview", h, {
      source_client_name: "other",
      source_table_name: "items",
      collection_name: "sneaky",
      document_id_column: "id",
      queryable_fields: ["name"],
    });
    expect(preview.status).toBe(400);
    expect(preview.json.error).toEqual({ field: "source_client_name" });
    const move = await call("PATCH", `/typesense/sync-jobs/${fx.app.jobId}`, h, {
      source_client_name: "other",
    });
    expect(move.status).toBe(400);
    expect(move.json.error).toEqual({ field: "source_client_name" });
    const after = await call("GET", `/typesense/sync-jobs/${fx.app.jobId}`, admin);
    expect(after.json.data).toMatchObject({ source_client_name: "app" });
  });

  it("GET /metrics (every client's labels) is refused to a bound key", async () => {
    expect((await call("GET", "/metrics", fx.app.headers)).status).toBe(403);
  });

  it("only client-bound keys are refused backend writes (403), and the row stays as it was", async () => {
    const h = fx.app.headers;
    const before = await call("GET", `/typesense/backends/${backendId}`, admin);
    const spare = await call("POST", "/typesense/backends", admin, {
      name: "spare",
      base_url: ts.url,
      api_key: ts.apiKey,
    });
    const spareId = (spare.json.data as { id: string }).id;
    const writes: [string, string, unknown][] = [
      ["POST", "/typesense/backends", { name: "mine", base_url: ts.url, api_key: ts.apiKey }],
      // refused before the body is read: an invalid body is 403 too, not 400
      ["POST", "/typesense/backends", {}],
      [
        "PATCH",
        `/typesense/backends/${backendId}`,
        { base_url: "http://127.0.0.1:9", api_key: "attacker-key-0000" },
      ],
      ["PATCH", `/typesense/backends/${backendId}`, { timeout_ms: 1 }],
      ["DELETE", `/typesense/backends/${spareId}`, undefined],
    ];
    for (const [method, path, body] of writes) {
      const r = await call(method, path, h, body);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.json)}`).toBe(403);
      expect(r.json.message).toBe("client-bound keys cannot change shared backends");
    }
    const after = await call("GET", `/typesense/backends/${backendId}`, admin);
    expect(after.json.data).toEqual(before.json.data);
    const names = (await call("GET", "/typesense/backends", admin)).json.data as { name: string }[];
    expect(names.map((b) => b.name).sort()).toEqual(["emu", "spare"]);

    // reading and testing stay open to the bound key, and show no key
    const list = await call("GET", "/typesense/backends", h);
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).not.toContain(ts.apiKey);
    expect((await call("GET", `/typesense/backends/${backendId}`, h)).status).toBe(200);
    const test = await call("POST", "/typesense/backends/test", h, { profile_id: backendId });
    expect(test.json.data).toMatchObject({ ok: true });

    // an unbound proxy key keeps every write
    const k = await call("POST", "/admin/api-keys", admin, { name: "unbound" });
    const u = { "X-Athena-Key": (k.json.data as { api_key: string }).api_key };
    const patched = await call("PATCH", `/typesense/backends/${spareId}`, u, { timeout_ms: 1234 });
    expect(patched.status, JSON.stringify(patched.json)).toBe(200);
    expect((await call("DELETE", `/typesense/backends/${spareId}`, u)).status).toBe(200);
  });

  it("collections/list on a saved backend shows a bound key only its own jobs' collections", async () => {
    const stray = ts.uniqueName("stray");
    await ts.client.collections().create({ name: stray, fields: [{ name: "x", type: "string" }] });
    const names = async (headers: Record<string, string>, target: unknown) => {
      const r = await call("POST", "/typesense/collections/list", headers, target);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      // a job's collection is listed as its live version, with the job's alias on it
      const list = (r.json.data as { collections: { name: string; aliases: string[] }[] })
        .collections;
      return list.flatMap((x) => (x.aliases.length > 0 ? x.aliases : [x.name]));
    };
    const saved = { profile_id: backendId };
    const own = (client: "app" | "other") =>
      call("GET", `/typesense/sync-jobs/${fx[client].jobId}`, admin).then(
        (r) => (r.json.data as { collection_name: string }).collection_name,
      );
    const [appCol, otherCol] = [await own("app"), await own("other")];
    expect(await names(fx.app.headers, saved)).toEqual([appCol]);
    expect(await names(fx.other.headers, saved)).toEqual([otherCol]);
    // the admin key, and a bound key on an inline backend (it holds that key), see everything
    for (const all of [
      await names(admin, saved),
      await names(fx.app.headers, { base_url: ts.url, api_key: ts.apiKey }),
    ]) {
      expect(all).toEqual(expect.arrayContaining([appCol, otherCol, stray]));
    }
  });
});
