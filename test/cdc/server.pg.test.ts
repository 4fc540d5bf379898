import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TypesenseBackend } from "../../src/typesense/index.js";
import { type DebianCluster, startDebianCluster } from "../support/debian-postgres.js";
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
import { useWal2jsonSource } from "./wal2json-source.js";

/**
 * Server-level events on a source of its own: a throwaway Debian PostgreSQL 15
 * cluster with max_replication_slots=1 (the shared test server is never
 * restarted or filled). useWal2jsonSource installs the binaries when missing;
 * with WAL2JSON_DATABASE_URL set, the cluster is still started here.
 */
const control = useTestDatabase();
useWal2jsonSource(); // makes sure the Debian binaries are installed
const ts = useTypesense();

describe("source server restart and slot limit (own PG 15 cluster, max_replication_slots=1)", () => {
  let cluster: DebianCluster;
  let source: pg.Pool;
  let sourceUrl: string;
  let backend: TypesenseBackend;
  let profile: string;
  let stream: RunningStream | undefined;
  let other: RunningStream | undefined;
  const coll = { a: "", b: "" };

  beforeAll(async () => {
    cluster = await startDebianCluster({ max_replication_slots: "1", max_wal_senders: "4" });
    sourceUrl = cluster.urlFor("postgres");
    source = new pg.Pool({ connectionString: sourceUrl, max: 4 });
    // idle clients die with the server; the pool must not crash the process
    source.on("error", () => {});
    await source.query("create table items (id int primary key, v text)");
    await source.query("create table others (id int primary key, v text)");
    backend = backendFor(ts.url, ts.apiKey);
    profile = await insertProfile(control.pool, ts.url, ts.apiKey);
    coll.a = ts.uniqueName("items");
    coll.b = ts.uniqueName("others");
    await insertJob(control.pool, {
      profileId: profile,
      client: "a",
      table: "items",
      collection: coll.a,
    });
  }, 180_000);
  afterAll(async () => {
    await other?.stop();
    await stream?.stop();
    await source?.end();
    await cluster?.stop();
  });

  it("Postgres restarted: the stream reconnects by itself and nothing is lost", async () => {
    stream = runStream({
      control: control.pool,
      source,
      sourceUrl,
      client: "a",
      backend,
      log: silentLogger(),
    });
    await waitFor(
      "streaming",
      async () => (await streamRow(control.pool, "a"))?.status === "streaming",
    );
    await source.query("insert into items select g, 'before' from generate_series(1, 500) g");
    // committed, maybe not applied yet: the restart must not lose it
    await cluster.stopServer();
    await waitFor(
      "backoff",
      async () => (await streamRow(control.pool, "a"))?.status === "backoff",
    );
    await cluster.startServer();
    await waitFor("insert after restart", async () => {
      await source.query("insert into items values (1000, 'after') on conflict do nothing");
      return true;
    });
    await source.query("update items set v = 'updated' where id <= 10");
    await source.query("delete from items where id between 11 and 20");
    const docs = await waitFor(
      "every change after the restart",
      async () => {
        const d = await docsOf(backend, coll.a);
        return d.size === 491 && d.get("1000")?.v === "after" && d.get("10")?.v === "updated"
          ? d
          : undefined;
      },
      60_000,
    );
    expect(docs.has("15")).toBe(false);
    expect(docs.get("500")?.v).toBe("before");
    const row = await waitFor("streaming again", async () => {
      const r = await streamRow(control.pool, "a");
      return r?.status === "streaming" ? r : undefined;
    });
    expect(row.confirmed_lsn).not.toBeNull();
  });

  it("all replication slots in use: a clear error naming the slots and the fix", async () => {
    await insertJob(control.pool, {
      profileId: profile,
      client: "b",
      table: "others",
      collection: coll.b,
    });
    other = runStream({
      control: control.pool,
      source,
      sourceUrl,
      client: "b",
      backend,
      log: silentLogger(),
    });
    const row = await waitFor("setup error", async () => {
      const r = await streamRow(control.pool, "b");
      return r?.status === "error" && r.last_error ? r : undefined;
    });
    expect(row.last_error).toContain("all 1 replication slots are in use");
    expect(row.last_error).toContain("t_cdc_a (active)");
    expect(row.last_error).toContain("pg_drop_replication_slot");
    expect(row.last_error).toContain("max_replication_slots");
    // the stream holding the slot is unaffected
    await source.query("insert into items values (2000, 'still')");
    await waitFor("a still streams", async () => (await docsOf(backend, coll.a)).has("2000"));
  });
});
