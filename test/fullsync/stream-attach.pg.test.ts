import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createWatermarkRegistry,
  type WatermarkRegistry,
} from "../../src/coordination/watermarks.js";
import { createFullSyncEngine, type SyncBackend } from "../../src/fullsync/index.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import {
  backendFor,
  docsOf,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  waitFor,
} from "../cdc/helpers.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { tableDocuments } from "./support.js";

// Control and source are the same database (logical replication on it).
const db = useTestDatabase();
const ts = useTypesense();
let backend: TypesenseBackend;
let profile: string;
let stream: RunningStream | undefined;

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
  profile = await insertProfile(db.pool, ts.url, ts.apiKey);
  return async () => {
    await backend.close();
  };
});
afterEach(async () => {
  await stream?.stop();
  stream = undefined;
});

/** A CDC job on a 400-row table, a registry with no stream yet (windows unbracketed). */
async function setup(table: string, client: string) {
  await db.pool.query(`create table ${table} (id int primary key, v text not null)`);
  await db.pool.query(`insert into ${table} select g, 'v1 ' || g from generate_series(1, 400) g`);
  const collection = ts.uniqueName(table);
  const jobId = await insertJob(db.pool, { profileId: profile, client, table, collection });
  const registry = createWatermarkRegistry();
  const engine = (o: { onWindowCommitted?: () => Promise<void>; backend?: SyncBackend } = {}) =>
    createFullSyncEngine({
      control: db.pool,
      source: () => db.pool,
      backendFor: async () => o.backend ?? backend,
      owner: "test",
      log: silentLogger(),
      importMaxAttempts: 3,
      importRetryBaseMs: 1,
      sagaBackupEnabled: true,
      leaseTtlMs: 30_000,
      windowSize: 100,
      maxWindowsInFlight: 1,
      watermarks: registry,
      ...(o.onWindowCommitted ? { onWindowCommitted: o.onWindowCommitted } : {}),
    });
  return { collection, jobId, registry, engine };
}

async function attach(client: string, registry: WatermarkRegistry, jobId: string) {
  stream = runStream({
    control: db.pool,
    source: db.pool,
    sourceUrl: db.url,
    client,
    backend,
    log: silentLogger(),
    watermarks: registry,
    cdc: { slot_prefix: "t_sa" },
  });
  await waitFor("streaming", () => registry.isStreaming(jobId));
}

async function expectEqualsTable(table: string, collection: string) {
  const want = await tableDocuments(db.pool, table);
  const got = await docsOf(backend, collection);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [id, doc] of want) expect(got.get(id), `doc ${id}`).toEqual(doc);
}

describe("a CDC stream that attaches to a job during its full sync", () => {
  it("stops the run before a window read without watermarks is written; it resumes bracketed", async () => {
    const s = await setup("sa_items", "sa");
    let windows = 0;
    const first = await s
      .engine({
        onWindowCommitted: async () => {
          windows++;
          // after window 1 (window 2 is already read, unbracketed) the stream attaches
          if (!stream) await attach("sa", s.registry, s.jobId);
        },
      })
      .runJob(s.jobId, { trigger: "manual" });
    expect(first.status).toBe("interrupted");
    expect(windows).toBe(1);
    expect((await docsOf(backend, s.collection)).size).toBe(100);
    const resumed = await s.engine().runJob(s.jobId, { trigger: "manual" });
    expect(resumed).toMatchObject({ status: "succeeded", resumed: true, runId: first.runId });
    await expectEqualsTable("sa_items", s.collection);
  });

  it("does not checkpoint a window whose unbracketed write landed after the stream attached; the resumed run repairs it", async () => {
    const s = await setup("sa_late", "sa2");
    // Window 2's import (rows read as 'v1 N' before the stream existed) is
    // held back until the stream has attached and written a newer row 150:
    // the stale write then lands over it.
    let held = false;
    const late: SyncBackend = {
      importDocuments: (c, d, o) => backend.importDocuments(c, d, o),
      importJsonLines: async (c, lines, ids, o) => {
        if (!held && ids.includes("150")) {
          held = true;
          await attach("sa2", s.registry, s.jobId);
          await db.pool.query("update sa_late set v = 'newer' where id = 150");
          await waitFor(
            "the stream wrote row 150",
            async () => (await docsOf(backend, s.collection)).get("150")?.v === "newer",
          );
        }
        return backend.importJsonLines(c, lines, ids, o);
      },
      deleteDocuments: (c, i) => backend.deleteDocuments(c, i),
      exportIds: (c) => backend.exportIds(c),
      ensureCollection: (c) => backend.ensureCollection(c),
      getCollection: (c) => backend.getCollection(c),
      getDocuments: (c, i) => backend.getDocuments(c, i),
    };
    const first = await s.engine({ backend: late }).runJob(s.jobId, { trigger: "manual" });
    expect(held).toBe(true);
    expect(first.status).toBe("interrupted");
    expect((await docsOf(backend, s.collection)).get("150")?.v).toBe("v1 150"); // the stale write
    const [run] = (
      await db.pool.query(
        "select next_manifest_seq::int seq from typesense_sync_runs where id = $1",
        [first.runId],
      )
    ).rows;
    expect(run).toEqual({ seq: 100 }); // window 2 was not checkpointed
    const resumed = await s.engine().runJob(s.jobId, { trigger: "manual" });
    expect(resumed).toMatchObject({ status: "succeeded", resumed: true, runId: first.runId });
    await expectEqualsTable("sa_late", s.collection);
  });
});
