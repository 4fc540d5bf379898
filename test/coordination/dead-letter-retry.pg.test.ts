import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNSCOPED } from "../../src/control/client-scope.js";
import { createSecretBox, createTypesenseClients } from "../../src/control/index.js";
import { retryDeadLetter } from "../../src/coordination/dead-letter-retry.js";
import { createWatermarkRegistry } from "../../src/coordination/watermarks.js";
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

// Control and source are the same database (logical replication on it).
const db = useTestDatabase();
const ts = useTypesense();
const registry = createWatermarkRegistry();
const clients = createTypesenseClients(silentLogger());
let backend: TypesenseBackend;
let stream: RunningStream;
let jobId: string;
let collection: string;

beforeAll(async () => {
  backend = backendFor(ts.url, ts.apiKey);
  const profileId = await insertProfile(db.pool, ts.url, ts.apiKey);
  await db.pool.query("create table dlr_items (id int primary key, title text not null)");
  await db.pool.query("insert into dlr_items select g, 'v1 ' || g from generate_series(1, 20) g");
  collection = ts.uniqueName("dlr_items");
  jobId = await insertJob(db.pool, { profileId, client: "dlr", table: "dlr_items", collection });
  stream = runStream({
    control: db.pool,
    source: db.pool,
    sourceUrl: db.url,
    client: "dlr",
    backend,
    log: silentLogger(),
    watermarks: registry,
    cdc: { slot_prefix: "t_dlr" },
  });
  await waitFor("streaming", () => registry.isStreaming(jobId), 60_000);
  const engine = createFullSyncEngine({
    control: db.pool,
    source: () => db.pool,
    backendFor: async () => backend,
    owner: "test",
    log: silentLogger(),
    importMaxAttempts: 2,
    importRetryBaseMs: 1,
    sagaBackupEnabled: false,
    leaseTtlMs: 30_000,
    watermarks: registry,
  });
  expect((await engine.runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
}, 90_000);
afterAll(async () => {
  await stream?.stop();
  await clients.close();
  await backend.close();
});

async function letter(docId: string): Promise<string> {
  const r = await db.pool.query<{ id: string }>(
    `insert into typesense_dead_letters (job_id, origin, doc_id, operation, payload, error_code, error_message)
     values ($1, 'cdc', $2, 'upsert', $3, 400, 'rejected') returning id`,
    [jobId, docId, JSON.stringify({ id: docId, title: "stored payload" })],
  );
  return r.rows[0]!.id;
}

/**
 * The source, except that right after the retry's row read (before its
 * result is returned) the row is updated again and the stream has written
 * that newer version to Typesense: the retry then holds an older version
 * than the collection.
 */
function racingSource(docId: string, newer: string): pg.Pool {
  let raced = false;
  const query = async (text: string, values?: unknown[]) => {
    const r = await db.pool.query(text, values);
    if (!raced && /= any\(/.test(text) && /dlr_items/.test(text)) {
      raced = true;
      await db.pool.query("update dlr_items set title = $2 where id = $1", [Number(docId), newer]);
      await waitFor(
        "the stream's newer write",
        async () => (await docsOf(backend, collection)).get(docId)?.title === newer,
      );
    }
    return r;
  };
  return { query } as unknown as pg.Pool;
}

/** The WAL position now. */
const walNow = async () =>
  (await db.pool.query<{ l: string }>("select pg_current_wal_lsn()::text as l")).rows[0]!.l;

/**
 * Waits until the stream checkpointed past `lsn`: that checkpoint resolves the
 * open letters of the ids it wrote, so a letter made before it would be
 * resolved by the stream, not by the retry under test.
 */
const checkpointedPast = (lsn: string) =>
  waitFor("checkpointed", async () => {
    const r = await db.pool.query<{ ok: boolean }>(
      `select confirmed_lsn >= $1::pg_lsn as ok from typesense_cdc_streams
        where source_client_name = 'dlr'`,
      [lsn],
    );
    return r.rows[0]?.ok === true;
  });

describe("dead-letter retry of a CDC job", () => {
  it("goes through the watermark bracket: a stream write made while the retry read the row is not overwritten", async () => {
    await db.pool.query("update dlr_items set title = 'v2 3' where id = 3");
    const afterUpdate = await walNow();
    await waitFor(
      "v2 streamed",
      async () => (await docsOf(backend, collection)).get("3")?.title === "v2 3",
    );
    await checkpointedPast(afterUpdate);
    const id = await letter("3");
    const r = await retryDeadLetter(
      {
        control: db.pool,
        source: () => racingSource("3", "v3 written by the stream"),
        box: createSecretBox(""),
        clients,
        watermarks: registry,
        cdcActive: true,
      },
      id,
      UNSCOPED,
    );
    expect(r).toMatchObject({ outcome: "resolved", action: "superseded" });
    // the stream's newer version stays; the retry's read (v2) was never written over it
    await new Promise((res) => setTimeout(res, 300));
    expect((await docsOf(backend, collection)).get("3")?.title).toBe("v3 written by the stream");
  }, 60_000);

  it("writes the row's current version through the stream, or deletes the doc of a row that is gone", async () => {
    const deps = {
      control: db.pool,
      source: () => db.pool,
      box: createSecretBox(""),
      clients,
      watermarks: registry,
      cdcActive: true,
    };
    const updated = await letter("4");
    await db.pool.query("update typesense_dead_letters set payload = null where id = $1", [
      updated,
    ]);
    expect(await retryDeadLetter(deps, updated, UNSCOPED)).toMatchObject({ outcome: "resolved" });
    expect((await docsOf(backend, collection)).get("4")?.title).toBe("v1 4");
    await db.pool.query("delete from dlr_items where id = 5");
    const afterDelete = await walNow();
    await waitFor("delete streamed", async () => !(await docsOf(backend, collection)).has("5"));
    await checkpointedPast(afterDelete);
    const gone = await letter("5");
    // a doc of the gone row is back in the collection (the letter's stored payload, written by hand)
    await backend.importDocuments(collection, [{ id: "5", title: "stored payload" }], {
      action: "upsert",
    });
    const r = await retryDeadLetter(deps, gone, UNSCOPED);
    expect(r).toMatchObject({
      outcome: "resolved",
      action: "deleted",
      letter: { status: "resolved" },
    });
    expect((await docsOf(backend, collection)).has("5")).toBe(false);
  }, 60_000);

  it("is 409 on an instance whose stream does not apply the job: a direct write could be older", async () => {
    const id = await letter("6");
    await expect(
      retryDeadLetter(
        {
          control: db.pool,
          source: () => db.pool,
          box: createSecretBox(""),
          clients,
          watermarks: createWatermarkRegistry(),
          cdcActive: true,
        },
        id,
        UNSCOPED,
      ),
    ).rejects.toThrow(/streamed by CDC, but not by this instance/);
  });
});
