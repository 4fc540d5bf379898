import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWatermarkRegistry } from "../../src/cdc/watermarks.js";
import { createFullSyncEngine } from "../../src/fullsync/index.js";
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
});
afterAll(async () => {
  await stream?.stop();
  await backend.close();
});

describe("a CDC stream that attaches to a job during its full sync", () => {
  it("stops the run before a window read without watermarks is written; it resumes bracketed", async () => {
    await db.pool.query("create table sa_items (id int primary key, v text not null)");
    await db.pool.query("insert into sa_items select g, 'v1 ' || g from generate_series(1, 400) g");
    const collection = ts.uniqueName("sa_items");
    const jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "sa",
      table: "sa_items",
      collection,
    });
    const registry = createWatermarkRegistry(); // no stream yet: windows are unbracketed
    const engine = (onWindowCommitted?: () => Promise<void>) =>
      createFullSyncEngine({
        control: db.pool,
        source: () => db.pool,
        backendFor: async () => backend,
        owner: "test",
        log: silentLogger(),
        importMaxAttempts: 3,
        importRetryBaseMs: 1,
        sagaBackupEnabled: true,
        leaseTtlMs: 30_000,
        windowSize: 100,
        maxWindowsInFlight: 1,
        watermarks: registry,
        ...(onWindowCommitted ? { onWindowCommitted } : {}),
      });
    let windows = 0;
    const first = await engine(async () => {
      windows++;
      if (stream) return;
      // after window 1 (window 2 is already read, unbracketed) the stream attaches
      stream = runStream({
        control: db.pool,
        source: db.pool,
        sourceUrl: db.url,
        client: "sa",
        backend,
        log: silentLogger(),
        watermarks: registry,
        cdc: { slot_prefix: "t_sa" },
      });
      await waitFor("streaming", () => registry.isStreaming(jobId));
    }).runJob(jobId, { trigger: "manual" });
    expect(first.status).toBe("interrupted");
    expect(windows).toBe(1);
    expect((await docsOf(backend, collection)).size).toBe(100);
    const resumed = await engine().runJob(jobId, { trigger: "manual" });
    expect(resumed).toMatchObject({ status: "succeeded", resumed: true, runId: first.runId });
    const want = await tableDocuments(db.pool, "sa_items");
    const got = await docsOf(backend, collection);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [id, doc] of want) expect(got.get(id), `doc ${id}`).toEqual(doc);
  });
});
