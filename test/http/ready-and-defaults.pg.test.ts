import { describe, expect, it } from "vitest";
import { waitFor } from "../cdc/helpers.js";
import { useTestDatabase } from "../support/pg.js";
import { useServe } from "../support/serve.js";
import { useTypesense } from "../support/typesense.js";

const db = useTestDatabase();
const ts = useTypesense();
const serve = useServe(db, {
  clients: () => ({ app: db.url }),
  config: (c) => ({ ...c, fullsync: { ...c.fullsync, window_size: 7 } }),
});

describe("/ready", () => {
  it("without a key shows check names and states only, no migration file names; the admin key adds them", async () => {
    // a migration file the database has not applied: /ready is 503 and lists it for the admin only
    const last = await db.pool.query<{ version: number; name: string; checksum: string }>(
      `delete from athena_ts_schema_migrations
        where version = (select max(version) from athena_ts_schema_migrations)
        returning version, name, checksum`,
    );
    const row = last.rows[0]!;
    try {
      const anon = await serve.call("GET", "/ready", undefined, null);
      expect(anon.status).toBe(503);
      const text = JSON.stringify(anon.json);
      expect(text).toMatch(/"migrations":false/);
      expect(text).not.toContain(row.name);
      expect(text).not.toMatch(/pending_migrations/);
      const wrong = await serve.call("GET", "/ready", undefined, "not-the-admin-key-at-all");
      expect(JSON.stringify(wrong.json)).not.toContain(row.name);
      const admin = await serve.call("GET", "/ready");
      expect(JSON.stringify(admin.json)).toContain(row.name);
    } finally {
      await db.pool.query(
        "insert into athena_ts_schema_migrations (version, name, checksum) values ($1, $2, $3)",
        [row.version, row.name, row.checksum],
      );
    }
  });
});

/** A table `name (id, t)`, a backend on the test Typesense and a job on it with `extra` fields. */
async function tableWithJob(name: string, extra: Record<string, unknown> = {}) {
  await db.pool.query(`create table if not exists ${name} (id int primary key, t text)`);
  const b = await serve.call("POST", "/typesense/backends", {
    name: ts.uniqueName("emu"),
    base_url: ts.url,
    api_key: ts.apiKey,
  });
  return serve.call("POST", "/typesense/sync-jobs", {
    profile_id: b.json.data.id,
    source_client_name: "app",
    source_table_name: name,
    collection_name: ts.uniqueName(name),
    document_id_column: "id",
    queryable_fields: ["t"],
    ...extra,
  });
}

describe("/ready with CDC", () => {
  it("is 503 while a CDC-enabled client's stream has not attached, 200 once it streams", async () => {
    expect((await serve.call("GET", "/ready", undefined, null)).status).toBe(200);
    const j = await tableWithJob("rd_items", { cdc_enabled: true });
    expect(j.status).toBe(201);
    // the supervisor starts the stream within its 5 s poll: not attached until then
    const before = await serve.call("GET", "/ready", undefined, null);
    expect(before.status).toBe(503);
    expect(JSON.stringify(before.json)).toMatch(/"cdc:app":false/);
    await waitFor(
      "the stream streams",
      async () =>
        JSON.stringify((await serve.call("GET", "/ready")).json).includes('"app":"streaming"'),
      60_000,
    );
    expect((await serve.call("GET", "/ready", undefined, null)).status).toBe(200);
  }, 90_000);
});

describe("fullsync.window_size", () => {
  it("is the window size of a job created without its own", async () => {
    const job = (windowSize?: number) =>
      tableWithJob("ws_items", windowSize === undefined ? {} : { window_size: windowSize });
    expect((await job()).json.data.window_size).toBe(7);
    expect((await job(250)).json.data.window_size).toBe(250);
  });
});
