import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeTable } from "../../src/catalog/index.js";
import type { ChangeEvent } from "../../src/cdc/events.js";
import { parseLsn } from "../../src/cdc/lsn.js";
import { createReplicationSource } from "../../src/cdc/replication-source.js";
import { createPools, type Pools } from "../../src/db/index.js";
import { createDocumentMapper } from "../../src/documents/index.js";
import { createWindowReader } from "../../src/documents/window-reader.js";
import { parseJson } from "../../src/json/codec.js";
import { waitFor } from "../cdc/helpers.js";
import { silentLogger } from "../support/log.js";
import { createDatabase } from "../support/pg.js";

/**
 * A source database whose defaults are NOT what the catalog parses
 * (DateStyle SQL/DMY, extra_float_digits 0, IntervalStyle sql_standard): the
 * sidecar's source connections pin their own session settings, so full sync
 * (JS and SQL-rendered) and the replication stream still build the same,
 * complete documents.
 */
describe("source session settings win over the database's defaults", () => {
  let db: { name: string; url: string; drop: () => Promise<void> };
  let admin: pg.Pool;
  let pools: Pools;

  beforeAll(async () => {
    db = await createDatabase("sess");
    admin = new pg.Pool({ connectionString: db.url, max: 2 });
    await admin.query(`alter database ${db.name} set datestyle = 'SQL, DMY'`);
    await admin.query(`alter database ${db.name} set extra_float_digits = 0`);
    await admin.query(`alter database ${db.name} set intervalstyle = 'sql_standard'`);
    await admin.end();
    admin = new pg.Pool({ connectionString: db.url, max: 2 }); // new sessions see the defaults
    await admin.query(`create table t (id int primary key, ts timestamptz, d date,
      f float8, iv interval)`);
    await admin.query(`insert into t values (1, '2024-03-01 12:34:56.789+00', '2024-03-01',
      0.1::float8 + 0.2::float8, '1 day 02:03:04')`);
    pools = createPools({
      controlUrl: db.url,
      clients: { app: { url: db.url } },
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    await pools?.close();
    await admin?.end();
    await db?.drop();
  });

  const want = {
    id: "1",
    ts: 1709296496789,
    d: 1709251200000,
    f: 0.30000000000000004,
    iv: "1 day 02:03:04",
  };

  async function reader(pool: pg.Pool) {
    const info = await describeTable(pool, { schema: "public", table: "t" });
    const mapper = createDocumentMapper(info, {
      documentIdColumn: "id",
      includedColumns: [],
      queryableFields: [],
    });
    return createWindowReader({ source: pool, mapper });
  }

  it("the database's own defaults really differ (a plain connection drops the timestamps)", async () => {
    const plain = await (await reader(admin)).readOrdered(["1"]);
    expect(plain.documents.get("1")).not.toEqual(want);
    expect(plain.documents.get("1")?.ts).toBeUndefined();
  });

  it("full sync: the JS and the SQL-rendered documents are complete and equal", async () => {
    const r = await reader(pools.source("app"));
    const js = await r.readOrdered(["1"]);
    expect(js.documents.get("1")).toEqual(want);
    const rendered = await r.readOrderedRendered(["1"]);
    expect(rendered).not.toBeNull();
    expect(rendered!.lines.count).toBe(1);
    expect(parseJson(rendered!.lines.body.toString("utf8"))).toEqual(want);
  });

  it("a source URL with its own options keeps them, and ours still apply", async () => {
    const url = `${db.url}${db.url.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c work_mem=7MB")}`;
    const own = createPools({ controlUrl: db.url, clients: { x: { url } }, log: silentLogger() });
    try {
      const r = await own
        .source("x")
        .query<{ w: string; d: string; f: string }>(
          "select current_setting('work_mem') w, current_setting('DateStyle') d, current_setting('extra_float_digits') f",
        );
      expect(r.rows[0]).toEqual({ w: "7MB", d: "ISO, MDY", f: "1" });
    } finally {
      await own.close();
    }
  });

  it("the replication stream sends the values in the same text the catalog parses", async () => {
    await admin.query("create publication sess_pub for table t");
    const slot = await admin.query<{ lsn: string }>(
      "select lsn::text from pg_create_logical_replication_slot('sess_slot', 'pgoutput')",
    );
    const events: ChangeEvent[] = [];
    const ctl = new AbortController();
    const src = createReplicationSource({
      connectionString: db.url,
      slotName: "sess_slot",
      plugin: "pgoutput",
      publicationName: "sess_pub",
      initialDurableLsn: parseLsn(slot.rows[0]!.lsn),
      log: silentLogger(),
      handler: {
        onConnect() {},
        async onEvent(ev) {
          events.push(ev);
        },
      },
    });
    const done = src.run(ctl.signal);
    try {
      await admin.query(
        "update t set f = 0.1::float8 + 0.2::float8, iv = iv + interval '1 second' where id = 1",
      );
      await waitFor("the update", () => events.some((e) => e.kind === "update"));
      const up = events.find((e) => e.kind === "update");
      expect(up?.kind === "update" && up.new).toMatchObject({
        ts: "2024-03-01 12:34:56.789+00",
        d: "2024-03-01",
        f: "0.30000000000000004",
        iv: "1 day 02:03:05",
      });
    } finally {
      ctl.abort();
      await done;
      await admin.query("select pg_drop_replication_slot('sess_slot')").catch(() => {});
    }
  });
});
