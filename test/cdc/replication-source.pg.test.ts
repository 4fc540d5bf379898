import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent, UpdateEvent } from "../../src/cdc/events.js";
import { type Lsn, parseLsn } from "../../src/cdc/lsn.js";
import {
  createReplicationSource,
  type ReplicationSource,
} from "../../src/cdc/replication-source.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { waitFor } from "./helpers.js";

const db = useTestDatabase({ migrate: false });

/** Runs a source that records events and (optionally) acks each commit at once. */
function startSource(
  slot: string,
  opts: { ack: boolean; watchdogMs?: number; keepaliveMs?: number },
  from: Lsn,
) {
  const events: ChangeEvent[] = [];
  const connects: Lsn[] = [];
  const ctl = new AbortController();
  const src: ReplicationSource = createReplicationSource({
    connectionString: db.url,
    slotName: slot,
    plugin: "pgoutput",
    publicationName: "src_pub",
    initialDurableLsn: from,
    log: silentLogger(),
    keepaliveMs: opts.keepaliveMs ?? 200,
    watchdogMs: opts.watchdogMs ?? 60_000,
    backoff: { baseMs: 20, maxMs: 200 },
    handler: {
      onConnect(lsn) {
        connects.push(lsn);
      },
      async onEvent(ev) {
        events.push(ev);
        if (ev.kind === "commit" && opts.ack) src.acknowledge(ev.endLsn);
      },
    },
  });
  const done = src.run(ctl.signal);
  const stop = async () => {
    ctl.abort();
    await done;
  };
  return { src, events, connects, stop, done };
}

async function confirmedFlush(slot: string): Promise<Lsn> {
  const r = await db.pool.query<{ l: string | null }>(
    "select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = $1",
    [slot],
  );
  return parseLsn(r.rows[0]?.l);
}

async function createSlot(slot: string): Promise<Lsn> {
  const r = await db.pool.query<{ lsn: string }>(
    "select lsn::text from pg_create_logical_replication_slot($1, 'pgoutput')",
    [slot],
  );
  return parseLsn(r.rows[0]!.lsn);
}

describe("ReplicationSource (pgoutput)", () => {
  beforeAll(async () => {
    await db.pool.query(`
      create table items (id bigint primary key, title text, big text, n numeric,
        ts timestamptz, j jsonb, flag boolean, tags text[]);
      alter table items alter column big set storage external;
      create table full_items (id int primary key, big text);
      alter table full_items replica identity full;
      alter table full_items alter column big set storage external;
      create publication src_pub for table items, full_items;
    `);
  });
  afterAll(async () => {
    await db.pool.query("drop publication if exists src_pub");
  });

  it("yields raw text values, keys, unchanged TOAST markers, truncate and messages", async () => {
    const start = await createSlot("s_kinds");
    const s = startSource("s_kinds", { ack: true }, start);
    const big = "x".repeat(5000);
    await db.pool.query(
      `insert into items values (9007199254740993, 'a', $1, 1.50, '2024-01-02 03:04:05.123456+00',
        '{"b": 1, "a": [1, 2]}', true, '{x,"y z"}')`,
      [big],
    );
    await db.pool.query("update items set title = 'b' where id = 9007199254740993");
    await db.pool.query("update items set id = 2 where id = 9007199254740993");
    await db.pool.query("delete from items where id = 2");
    await db.pool.query("insert into full_items values (1, $1)", [big]);
    await db.pool.query("update full_items set id = 3 where id = 1");
    await db.pool.query("truncate items");
    await db.pool.query("select pg_logical_emit_message(false, 'athena_ts_test', 'hello')");
    await waitFor("all events", () => s.events.some((e) => e.kind === "message"));
    await s.stop();

    const rows = s.events.filter((e) => e.kind !== "relation" && e.kind !== "begin");
    const ins = rows.find((e) => e.kind === "insert");
    expect(ins?.kind === "insert" && ins.new).toEqual({
      id: "9007199254740993",
      title: "a",
      big,
      n: "1.50",
      ts: "2024-01-02 03:04:05.123456+00",
      j: '{"a": [1, 2], "b": 1}',
      flag: "t",
      tags: '{x,"y z"}',
    });
    const updates = rows.filter((e): e is UpdateEvent => e.kind === "update");
    // DEFAULT identity, key unchanged: no key, no old row; the TOASTed column is unknown
    expect(updates[0]!.key).toBeNull();
    expect(updates[0]!.old).toBeNull();
    expect(updates[0]!.new.title).toBe("b");
    expect(updates[0]!.new.big).toBeUndefined();
    expect(updates[0]!.unchangedToast).toEqual(["big"]);
    // key changed: the old key comes along
    expect(updates[1]!.key).toEqual({ id: "9007199254740993" });
    expect(updates[1]!.new.id).toBe("2");
    const del = rows.find((e) => e.kind === "delete");
    expect(del?.kind === "delete" && del.key).toEqual({ id: "2" });
    // FULL identity: the old row fills the unchanged TOAST value
    expect(updates[2]!.old).toEqual({ id: "1", big });
    expect(updates[2]!.new).toEqual({ id: "3", big });
    expect(updates[2]!.unchangedToast).toEqual([]);
    const tr = rows.find((e) => e.kind === "truncate");
    expect(tr?.kind === "truncate" && tr.relations.map((r) => r.table)).toEqual(["items"]);
    const msg = rows.find((e) => e.kind === "message");
    expect(msg).toMatchObject({ prefix: "athena_ts_test", content: "hello", transactional: false });
    // every commit carries its end LSN and a plausible commit time
    const commits = rows.filter((e) => e.kind === "commit");
    expect(commits.length).toBe(7);
    for (const c of commits) {
      expect(c.endLsn).toBeGreaterThan(c.commitLsn);
      expect(Math.abs(c.commitTimeMs - Date.now())).toBeLessThan(10 * 60_000);
    }
    // acknowledged: the slot's confirmed_flush is exactly our last commit's end LSN
    const lastCommit = commits.at(-1)!;
    expect(lastCommit.kind === "commit" && (await confirmedFlush("s_kinds"))).toBe(
      lastCommit.kind === "commit" ? lastCommit.endLsn : -1n,
    );
  });

  it("never acknowledges on its own: unacknowledged transactions come again after a restart", async () => {
    const start = await createSlot("s_noack");
    const a = startSource("s_noack", { ack: false }, start);
    await db.pool.query("insert into items (id, title) values (100, 'x'), (101, 'y')");
    await waitFor("commit", () => a.events.some((e) => e.kind === "commit"));
    // keepalives flow (keepaliveMs 200) but carry only the durable LSN
    await new Promise((r) => setTimeout(r, 600));
    await a.stop();
    expect(await confirmedFlush("s_noack")).toBe(start);

    const b = startSource("s_noack", { ack: true }, start);
    await waitFor("redelivery", () => b.events.some((e) => e.kind === "commit"));
    const ids = b.events.flatMap((e) => (e.kind === "insert" ? [e.new.id] : []));
    expect(ids).toEqual(["100", "101"]);
    await b.stop();
  });

  it("reconnects by itself after its walsender is terminated, resuming from the durable LSN", async () => {
    const start = await createSlot("s_kill");
    // ack only the first transaction, so the second must come again
    const events: ChangeEvent[] = [];
    let acked = 0;
    const ctl = new AbortController();
    const src = createReplicationSource({
      connectionString: db.url,
      slotName: "s_kill",
      plugin: "pgoutput",
      publicationName: "src_pub",
      initialDurableLsn: start,
      log: silentLogger(),
      keepaliveMs: 200,
      backoff: { baseMs: 20, maxMs: 100 },
      handler: {
        onConnect() {},
        async onEvent(ev) {
          events.push(ev);
          if (ev.kind === "commit" && acked === 0) {
            acked++;
            src.acknowledge(ev.endLsn);
          }
        },
      },
    });
    const done = src.run(ctl.signal);
    await db.pool.query("insert into items (id, title) values (200, 'first')");
    await db.pool.query("insert into items (id, title) values (201, 'second')");
    await waitFor("two commits", () => events.filter((e) => e.kind === "commit").length >= 2);
    const killed = await db.pool.query(
      `select pg_terminate_backend(active_pid) as ok from pg_replication_slots
        where slot_name = 's_kill' and active_pid is not null`,
    );
    expect(killed.rows[0]?.ok).toBe(true);
    await db.pool.query("insert into items (id, title) values (202, 'third')");
    await waitFor("third after reconnect", () =>
      events.some((e) => e.kind === "insert" && e.new.id === "202"),
    );
    const ids = events.flatMap((e) => (e.kind === "insert" ? [e.new.id] : []));
    // 201 was never acknowledged: delivered again after the reconnect, 200 was not
    expect(ids.filter((i) => i === "201").length).toBe(2);
    expect(ids.filter((i) => i === "200").length).toBe(1);
    ctl.abort();
    await done;
  });

  // SIGSTOP freezes the walsender: the TCP connection stays open but nothing
  // arrives (a partition). Needs the server on this machine (embedded).
  it.skipIf(Boolean(process.env.TEST_DATABASE_URL))(
    "reconnects when the connection goes silent (watchdog), even if the server never closes it",
    async () => {
      const start = await createSlot("s_watch");
      const s = startSource("s_watch", { ack: true, watchdogMs: 500, keepaliveMs: 100 }, start);
      const pid = await waitFor("walsender", async () => {
        const r = await db.pool.query<{ pid: number | null }>(
          "select active_pid as pid from pg_replication_slots where slot_name = 's_watch'",
        );
        return r.rows[0]?.pid ?? undefined;
      });
      process.kill(pid, "SIGSTOP");
      try {
        await waitFor("reconnect attempt", () => s.connects.length >= 2, 20_000);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      await db.pool.query("insert into items (id, title) values (300, 'after')");
      await waitFor("event after reconnect", () => s.events.some((e) => e.kind === "insert"));
      await s.stop();
      expect(s.src.durableLsn()).toBeGreaterThan(start);
    },
  );

  it("rejects with a slot-lost classification when the slot does not exist", async () => {
    const s = startSource("s_missing", { ack: true }, parseLsn("0/1000000"));
    await expect(s.done).rejects.toMatchObject({ code: "42704" });
  });

  it("leaves pg's global type parsers alone (other connections still parse types)", async () => {
    // the raw-text patch is per relation of this plugin; pg's global parsers stay
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const r = await c.query<{ n: number; ts: Date }>("select 1::int4 as n, now() as ts");
    await c.end();
    expect(typeof r.rows[0]!.n).toBe("number");
    expect(r.rows[0]!.ts).toBeInstanceOf(Date);
  });
});
