import { afterAll, describe, expect, it } from "vitest";
import { createWatermarkRegistry } from "../../src/coordination/watermarks.js";
import { ownerMark } from "../../src/typesense/index.js";
import { docsOf, type RunningStream, runStream, streamRow, waitFor } from "../cdc/helpers.js";
import { silentLogger } from "../support/log.js";
import { insertJob } from "./helpers.js";
import { expectCollectionEqualsTable, useEngineFixture } from "./support.js";

const fx = useEngineFixture({ owner: "ownership", windowSize: 10 });
const { db, source, ts } = fx;
let stream: RunningStream | undefined;
afterAll(async () => {
  await stream?.stop();
});

/** A collection someone made by hand, with docs whose ids collide with the table's. */
async function handMade(name: string) {
  await fx.backend.createCollection({
    name,
    fields: [
      { name: "title", type: "string" },
      { name: "rank", type: "int32", facet: true, optional: true },
    ],
    metadata: { team: "search" },
  });
  const docs = ["1", "2", "3", "4", "hand-1"].map((id, i) => ({
    id,
    title: `mine ${id}`,
    rank: i,
  }));
  const res = await fx.backend.importDocuments(name, docs, { action: "create" });
  expect(res.every((r) => r.ok)).toBe(true);
  return fx.backend.getCollection(name);
}

/** The collection as someone would check it: schema + every document. */
async function snapshot(name: string) {
  const c = await fx.backend.getCollection(name);
  return {
    fields: c?.fields,
    metadata: c?.metadata,
    docs: [...(await docsOf(fx.backend, name)).values()].sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/** Waits until the stream confirmed everything written to the WAL so far. */
async function streamCaughtUp(client: string) {
  const r = await source.pool.query<{ lsn: string }>("select pg_current_wal_lsn()::text lsn");
  const target = r.rows[0]!.lsn;
  await waitFor("the stream confirmed the changes", async () => {
    const row = await streamRow(db.pool, client);
    if (!row?.confirmed_lsn) return false;
    const c = await db.pool.query<{ ok: boolean }>("select $1::pg_lsn >= $2::pg_lsn ok", [
      row.confirmed_lsn,
      target,
    ]);
    return c.rows[0]!.ok;
  });
}

describe("a collection the sidecar did not create", () => {
  it("keeps every doc and its schema through a run and CDC changes; with adopt_existing_collection the run proceeds", async () => {
    await source.pool.query("create table own_t (id int primary key, title text not null)");
    await source.pool.query(
      "insert into own_t select g, 'row ' || g from generate_series(1, 30) g",
    );
    const collection = ts.uniqueName("own");
    await handMade(collection);
    const before = await snapshot(collection);
    expect(before.docs).toHaveLength(5);
    const jobId = await insertJob(db.pool, {
      collection,
      table: "own_t",
      client: "own",
      baseUrl: ts.url,
      apiKey: ts.apiKey,
    });
    await db.pool.query("update typesense_sync_jobs set cdc_enabled = true where id = $1", [jobId]);

    // a full run: fails, says how to adopt, writes nothing
    const res = await fx.engine().runJob(jobId, { trigger: "manual" });
    expect(res.status).toBe("failed");
    expect(res.error).toContain(`collection "${collection}" already exists`);
    expect(res.error).toContain("adopt_existing_collection: true");
    expect(await snapshot(collection)).toEqual(before);
    const job = await db.pool.query(
      "select last_sync_status, last_sync_error from typesense_sync_jobs where id = $1",
      [jobId],
    );
    expect(job.rows[0].last_sync_error).toContain("adopt_existing_collection");

    // CDC changes of the bound table (update, insert, delete, truncate): nothing reaches it
    const registry = createWatermarkRegistry();
    stream = runStream({
      control: db.pool,
      source: source.pool,
      sourceUrl: source.url,
      client: "own",
      backend: fx.backend,
      log: silentLogger(),
      watermarks: registry,
      cdc: { slot_prefix: "t_own" },
    });
    await waitFor("streaming", () => registry.isStreaming(jobId));
    await source.pool.query("update own_t set title = 'changed' where id in (1, 2)");
    await source.pool.query("insert into own_t values (31, 'new row')");
    await source.pool.query("delete from own_t where id = 3");
    await streamCaughtUp("own");
    await source.pool.query("truncate own_t");
    await source.pool.query(
      "insert into own_t select g, 'again ' || g from generate_series(1, 12) g",
    );
    await streamCaughtUp("own");
    expect(await snapshot(collection)).toEqual(before);

    // adopted: the run marks the collection (other metadata kept) and syncs the table
    await db.pool.query(
      "update typesense_sync_jobs set adopt_existing_collection = true where id = $1",
      [jobId],
    );
    const adopted = await fx.engine({ watermarks: registry }).runJob(jobId, { trigger: "manual" });
    expect(adopted.status).toBe("succeeded");
    const after = await fx.backend.getCollection(collection);
    expect(after?.metadata).toEqual({ team: "search", ...ownerMark(jobId) });
    await expectCollectionEqualsTable(fx.backend, collection, source.pool, "own_t");
    // and CDC writes into it from now on
    await source.pool.query("update own_t set title = 'live' where id = 5");
    await waitFor(
      "the stream wrote row 5",
      async () => (await docsOf(fx.backend, collection)).get("5")?.title === "live",
    );
  });

  it("a collection the job created itself carries its mark and needs no flag", async () => {
    await source.pool.query("create table own_new (id int primary key, title text not null)");
    await source.pool.query(
      "insert into own_new select g, 'row ' || g from generate_series(1, 5) g",
    );
    const collection = ts.uniqueName("own_new");
    const jobId = await insertJob(db.pool, {
      collection,
      table: "own_new",
      baseUrl: ts.url,
      apiKey: ts.apiKey,
    });
    expect((await fx.engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
    expect((await fx.backend.getCollection(collection))?.metadata).toEqual(ownerMark(jobId));
    expect((await fx.engine().runJob(jobId, { trigger: "manual" })).status).toBe("succeeded");
  });
});
