import { describe, expect } from "vitest";
import { createBackendResolver, createEngine } from "../../src/cli/wiring.js";
import { backendFor, docsOf, insertJob, runStream, streamRow, waitFor } from "../cdc/helpers.js";
import { insertJob as insertSyncJob } from "../fullsync/helpers.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { itEmulatorOnly, useTypesense } from "../support/typesense.js";
import { admin, jsonInit, useTestApp } from "./fixture.js";

const db = useTestDatabase();
const ts = useTypesense();
const log = silentLogger();
const t = useTestApp(db, () => log, { clients: () => ({ app: db.url }) });

type J = { status: string; message: string; data: Record<string, unknown> };
async function call(method: string, path: string, body: unknown) {
  const res = await t.app.request(path, jsonInit(method, body, admin));
  return { status: res.status, json: (await res.json()) as J };
}

/** Rotates the emulator's key: the old one is refused from now on. */
function rotateTypesenseKey(key: string) {
  if (!ts.emulator) throw new Error("needs the emulator");
  ts.emulator.setApiKey(key);
}

async function saveBackend(name: string, apiKey: string): Promise<string> {
  const r = await call("POST", "/typesense/backends", { name, base_url: ts.url, api_key: apiKey });
  expect(r.status).toBe(201);
  return r.json.data.id as string;
}

describe("backends are validated and followed", () => {
  itEmulatorOnly(
    "backends/test makes an authenticated call: a saved backend with a wrong key is 'key refused', not healthy",
    async () => {
      const id = await saveBackend("checked", ts.apiKey);
      const ok = await call("POST", "/typesense/backends/test", { profile_id: id });
      expect(ok.json).toMatchObject({
        message: "backend healthy",
        data: { ok: true, reachable: true, key_accepted: true },
      });
      await call("PATCH", `/typesense/backends/${id}`, { api_key: "a-wrong-key-0123456789" });
      const refused = await call("POST", "/typesense/backends/test", { profile_id: id });
      expect(refused.status).toBe(200);
      expect(refused.json).toMatchObject({
        message: "key refused",
        data: { ok: false, reachable: true, key_accepted: false },
      });
      expect(String(refused.json.data.error)).toMatch(/refused the API key \(HTTP 401\)/);
    },
  );

  itEmulatorOnly(
    "a running CDC stream follows a key change made through the API, without a restart",
    async () => {
      const oldKey = ts.apiKey;
      const newKey = `${oldKey}-rotated-cdc`;
      const profileId = await saveBackend("cdc", oldKey);
      const coll = ts.uniqueName("follow_cdc");
      await db.pool.query("create table follow_cdc (id int primary key, title text)");
      await insertJob(db.pool, { profileId, client: "app", table: "follow_cdc", collection: coll });
      const resolver = createBackendResolver({
        config: t.config,
        pools: t.pools,
        log,
        refreshMs: 200,
      });
      const stream = runStream({
        control: db.pool,
        source: db.pool,
        sourceUrl: db.url,
        client: "app",
        backend: backendFor(ts.url, oldKey),
        backendFor: resolver.backendFor,
        log,
      });
      try {
        await waitFor(
          "streaming",
          async () => (await streamRow(db.pool, "app"))?.status === "streaming",
        );
        await db.pool.query("insert into follow_cdc values (1, 'before')");
        await waitFor("row 1", async () =>
          (await docsOf(backendFor(ts.url, oldKey), coll)).has("1"),
        );

        rotateTypesenseKey(newKey);
        const p = await call("PATCH", `/typesense/backends/${profileId}`, { api_key: newKey });
        expect(p.status).toBe(200);
        await db.pool.query("insert into follow_cdc values (2, 'after')");
        const reader = backendFor(ts.url, newKey);
        await waitFor(
          "row 2 written with the new key",
          async () => (await docsOf(reader, coll)).has("2"),
          10_000,
        );
      } finally {
        await stream.stop();
        await resolver.clients.close();
        rotateTypesenseKey(oldKey);
      }
    },
    60_000,
  );

  itEmulatorOnly(
    "a full sync in flight follows a key change made through the API between its windows",
    async () => {
      const oldKey = ts.apiKey;
      const newKey = `${oldKey}-rotated-sync`;
      const coll = ts.uniqueName("follow_sync");
      await db.pool.query(
        "create table follow_sync as select g as id, 'row ' || g as title from generate_series(1, 30) g",
      );
      await db.pool.query("alter table follow_sync add primary key (id)");
      const jobId = await insertSyncJob(db.pool, {
        collection: coll,
        table: "follow_sync",
        baseUrl: ts.url,
        apiKey: oldKey,
        windowSize: 10,
      });
      const profileId = (
        await db.pool.query<{ profile_id: string }>(
          "select profile_id from typesense_sync_jobs where id = $1",
          [jobId],
        )
      ).rows[0]!.profile_id;
      const resolver = createBackendResolver({ config: t.config, pools: t.pools, log });
      let rotated = false;
      const engine = createEngine({
        config: t.config,
        pools: t.pools,
        log,
        owner: "test",
        backendFor: resolver.backendFor,
        onWindowCommitted: async () => {
          if (rotated) return;
          rotated = true;
          // after the first window: the key changes in Typesense and in the saved backend
          rotateTypesenseKey(newKey);
          const p = await call("PATCH", `/typesense/backends/${profileId}`, { api_key: newKey });
          expect(p.status).toBe(200);
        },
      });
      try {
        const r = await engine.runJob(jobId, { trigger: "manual" });
        expect(rotated).toBe(true);
        expect(r.error).toBeNull();
        expect(r.status).toBe("succeeded");
        expect((await docsOf(backendFor(ts.url, newKey), coll)).size).toBe(30);
      } finally {
        await resolver.clients.close();
        rotateTypesenseKey(oldKey);
      }
    },
    60_000,
  );

  itEmulatorOnly(
    "a call in flight finishes on its client when a backend change retires that client",
    async () => {
      const id = await saveBackend("leased", ts.apiKey);
      const resolver = createBackendResolver({
        config: t.config,
        pools: t.pools,
        log,
        refreshMs: 0,
      });
      try {
        const b = await resolver.backendFor(id);
        const coll = ts.uniqueName("leased");
        await b.createCollection({ name: coll, fields: [{ name: ".*", type: "auto" }] });
        ts.emulator?.faults.addLatency({ path: "*/documents/import", ms: 400, times: 1 });
        const slow = b.importDocuments(coll, [{ id: "1", title: "slow" }], { action: "upsert" });
        await new Promise((r) => setTimeout(r, 100));
        await call("PATCH", `/typesense/backends/${id}`, { timeout_ms: 4000 });
        // this call reads the changed backend: a new client, the old one is retired
        await b.getCollection(coll);
        expect(await slow).toEqual([{ ok: true, id: "1" }]);
      } finally {
        await resolver.clients.close();
      }
    },
  );
});
