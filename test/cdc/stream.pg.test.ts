import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeTable } from "../../src/catalog/index.js";
import { createDocumentMapper } from "../../src/documents/index.js";
import { createWindowReader } from "../../src/documents/window-reader.js";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import {
  backendFor,
  docsOf,
  insertJob,
  insertProfile,
  type RunningStream,
  runStream,
  streamRow,
  waitFor,
} from "./helpers.js";

const db = useTestDatabase();
const ts = useTypesense();

describe("CDC stream: every change kind reaches Typesense", () => {
  let backend: TypesenseBackend;
  let stream: RunningStream;
  let coll: string;
  let collFull: string;
  const resyncs: string[] = [];
  let jobId: string;

  beforeAll(async () => {
    backend = backendFor(ts.url, ts.apiKey);
    coll = ts.uniqueName("items");
    collFull = ts.uniqueName("full");
    await db.pool.query(`
      create table items (id bigint primary key, title text not null, body text, price numeric(12,2),
        tags text[], updated timestamptz default '2024-01-01T00:00:00Z', flag boolean);
      alter table items alter column body set storage external;
      create table full_items (id int primary key, title text, body text);
      alter table full_items replica identity full;
      alter table full_items alter column body set storage external;
    `);
    const profile = await insertProfile(db.pool, ts.url, ts.apiKey);
    jobId = await insertJob(db.pool, {
      profileId: profile,
      client: "app",
      table: "items",
      collection: coll,
    });
    await insertJob(db.pool, {
      profileId: profile,
      client: "app",
      table: "full_items",
      collection: collFull,
    });
    stream = runStream({
      control: db.pool,
      source: db.pool,
      sourceUrl: db.url,
      client: "app",
      backend,
      log: silentLogger(),
      resyncs,
    });
    await waitFor(
      "streaming",
      async () => (await streamRow(db.pool, "app"))?.status === "streaming",
    );
  });
  afterAll(async () => {
    await stream?.stop();
  });

  it("requests a full resync for jobs joining the stream and records the stream row", async () => {
    expect(resyncs).toContain(jobId);
    await waitFor("leader heartbeat", async () => {
      return (await streamRow(db.pool, "app"))?.leader_instance === "test";
    });
    const pub = await db.pool.query(
      "select tablename from pg_publication_tables where pubname = 't_cdc_app' order by 1",
    );
    expect(pub.rows.map((r) => r.tablename)).toEqual(["full_items", "items"]);
  });

  it("insert, update, TOAST-unchanged update, PK change, delete (REPLICA IDENTITY DEFAULT)", async () => {
    const big = "b".repeat(4000);
    await db.pool.query(
      `insert into items (id, title, body, price, tags, flag) values
         (1, 'one', $1, 9.99, '{a,b}', true), (2, 'two', null, 1.00, '{}', false)`,
      [big],
    );
    await waitFor("inserts", async () => (await docsOf(backend, coll)).size === 2);
    // body (TOASTed, > 2 KB) is not sent by this update: the doc keeps it
    await db.pool.query("update items set title = 'one!', price = null where id = 1");
    await waitFor(
      "toast update",
      async () => (await docsOf(backend, coll)).get("1")?.title === "one!",
    );
    const d1 = (await docsOf(backend, coll)).get("1")!;
    expect(d1.body).toBe(big);
    expect(d1.price).toBeUndefined();
    // primary key change: old doc removed, new one written
    await db.pool.query("update items set id = 20 where id = 2");
    await waitFor("pk change", async () => (await docsOf(backend, coll)).has("20"));
    const docs = await docsOf(backend, coll);
    expect([...docs.keys()].sort()).toEqual(["1", "20"]);
    await db.pool.query("delete from items where id = 1");
    await waitFor("delete", async () => !(await docsOf(backend, coll)).has("1"));
  });

  it("TOAST-unchanged update of a doc missing in Typesense re-reads the row", async () => {
    const big = "c".repeat(5000);
    await db.pool.query("insert into items (id, title, body) values (30, 'thirty', $1)", [big]);
    await waitFor("insert 30", async () => (await docsOf(backend, coll)).has("30"));
    await backend.deleteDocuments(coll, ["30"]);
    await db.pool.query("update items set title = 'thirty!' where id = 30");
    const doc = await waitFor("refetched", async () => {
      const d = (await docsOf(backend, coll)).get("30");
      return d?.title === "thirty!" ? d : undefined;
    });
    expect(doc.body).toBe(big);
  });

  it("REPLICA IDENTITY FULL: PK change and delete carry the old row", async () => {
    const big = "f".repeat(3000);
    await db.pool.query("insert into full_items values (1, 'a', $1), (2, 'b', null)", [big]);
    await db.pool.query("update full_items set id = 10, title = 'a2' where id = 1");
    await db.pool.query("delete from full_items where id = 2");
    await waitFor("full", async () => {
      const d = await docsOf(backend, collFull);
      return d.size === 1 && d.get("10")?.title === "a2";
    });
    expect((await docsOf(backend, collFull)).get("10")?.body).toBe(big);
  });

  it("truncate empties the collection, later inserts arrive", async () => {
    await db.pool.query("insert into items (id, title) values (40, 'x'), (41, 'y')");
    await waitFor("before truncate", async () => (await docsOf(backend, coll)).has("41"));
    await db.pool.query("truncate items");
    await db.pool.query("insert into items (id, title) values (42, 'after')");
    await waitFor("after truncate", async () => {
      const d = await docsOf(backend, coll);
      return d.size === 1 && d.has("42");
    });
  });

  it("documents equal what full sync's reader builds for the same rows", async () => {
    await db.pool.query(
      `insert into items (id, title, body, price, tags, updated, flag) values
         (9007199254740993, 'big id', 'x', 123456789.12, '{"q r",s}', '2023-05-06 07:08:09.123456+02', true)`,
    );
    await waitFor("big id", async () => (await docsOf(backend, coll)).has("9007199254740993"));
    const table = await describeTable(db.pool, { schema: "public", table: "items" });
    const mapper = createDocumentMapper(table, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    const reader = createWindowReader({ source: db.pool, mapper });
    const read = await reader.read(["9007199254740993", "42"]);
    const docs = await docsOf(backend, coll);
    for (const [id, doc] of read.documents) expect(docs.get(id)).toEqual(doc);
  });

  it("checkpoints move confirmed_lsn, cdc_applied_lsn and the slot together", async () => {
    await db.pool.query("insert into items (id, title) values (50, 'ck')");
    await waitFor("doc 50", async () => (await docsOf(backend, coll)).has("50"));
    const row = await waitFor("confirmed", async () => {
      const r = await db.pool.query<{ c: string; s: string; j: string }>(
        `select s.confirmed_lsn::text as c, sl.confirmed_flush_lsn::text as s, j.cdc_applied_lsn::text as j
           from typesense_cdc_streams s
           join pg_replication_slots sl on sl.slot_name = s.slot_name
           join typesense_sync_jobs j on j.id = $1
          where s.source_client_name = 'app'`,
        [jobId],
      );
      const x = r.rows[0];
      return x && x.c === x.s && x.c === x.j ? x : undefined;
    });
    expect(row.c).toBeTruthy();
    const s = await streamRow(db.pool, "app");
    expect(Number(s?.changes_applied)).toBeGreaterThan(5);
    expect(s?.retained_wal_bytes).not.toBeNull();
  });
});
