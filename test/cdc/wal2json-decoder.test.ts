import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../src/cdc/events.js";
import { parseLsn } from "../../src/cdc/lsn.js";
import {
  SafeWal2JsonPlugin,
  Wal2JsonDecoder,
  type Wal2JsonV2Record,
  wal2jsonOptions,
  wal2jsonTimeMs,
} from "../../src/cdc/wal2json-decoder.js";

// One transaction as wal2json 2.6 (format-version 2, include-xids, include-timestamp,
// include-lsn, include-pk, include-type-oids, include-types off,
// numeric-data-types-as-string: numbers as strings) writes it, one XLogData message per line, with the
// XLogData header LSN the walsender puts in front of each.
const RECORDED: [string, string][] = [
  [
    "0/16B1E00",
    '{"action":"B","xid":743,"timestamp":"2024-05-01 10:11:12.123456+00","lsn":"0/16B2278","nextlsn":"0/16B22A8"}',
  ],
  [
    "0/16B1F10",
    '{"action":"I","xid":743,"timestamp":"2024-05-01 10:11:12.123456+00","lsn":"0/16B1F10","schema":"public","table":"items","columns":[{"name":"id","typeoid":20,"value":"9007199254740993"},{"name":"title","typeoid":25,"value":"caf\\u00e9 \\"q\\""},{"name":"flag","typeoid":16,"value":true},{"name":"off","typeoid":16,"value":false},{"name":"price","typeoid":1700,"value":"1.50"},{"name":"ratio","typeoid":701,"value":"NaN"},{"name":"raw","typeoid":17,"value":"deadbeef"},{"name":"j","typeoid":3802,"value":"{\\"a\\": [1, 2]}"},{"name":"tags","typeoid":1009,"value":"{x,\\"y z\\"}"},{"name":"note","typeoid":25,"value":null}],"pk":[{"name":"id","typeoid":20}]}',
  ],
  [
    "0/16B2000",
    '{"action":"U","xid":743,"timestamp":"2024-05-01 10:11:12.123456+00","lsn":"0/16B2000","schema":"public","table":"items","columns":[{"name":"id","typeoid":20,"value":"9007199254740993"},{"name":"title","typeoid":25,"value":"b"}],"identity":[{"name":"id","typeoid":20,"value":"9007199254740993"}],"pk":[{"name":"id","typeoid":20}]}',
  ],
  [
    "0/16B2100",
    '{"action":"U","xid":743,"timestamp":"2024-05-01 10:11:12.123456+00","lsn":"0/16B2100","schema":"public","table":"items","columns":[{"name":"id","typeoid":20,"value":"2"},{"name":"title","typeoid":25,"value":"b"}],"identity":[{"name":"id","typeoid":20,"value":"9007199254740993"}],"pk":[{"name":"id","typeoid":20}]}',
  ],
  [
    "0/16B2180",
    '{"action":"D","xid":743,"timestamp":"2024-05-01 10:11:12.123456+00","lsn":"0/16B2180","schema":"public","table":"items","identity":[{"name":"id","typeoid":20,"value":"2"}],"pk":[{"name":"id","typeoid":20}]}',
  ],
  [
    "0/16B2200",
    '{"action":"T","xid":743,"timestamp":"2024-05-01 10:11:12.123456+00","lsn":"0/16B2200","schema":"public","table":"items"}',
  ],
  [
    "0/16B22A8",
    '{"action":"C","xid":743,"timestamp":"2024-05-01 10:11:12.123456+00","lsn":"0/16B2278","nextlsn":"0/16B22A8"}',
  ],
  [
    "0/16B2300",
    '{"action":"M","transactional":false,"prefix":"athena_ts_heartbeat","content":"1714558272000","lsn":"0/16B2300"}',
  ],
];

function decodeAll(): ChangeEvent[] {
  const d = new Wal2JsonDecoder();
  const plugin = new SafeWal2JsonPlugin({});
  return RECORDED.map(([wire, json]) => {
    const rec = plugin.parse(Buffer.from(json));
    const ev = d.decode(rec as Wal2JsonV2Record, parseLsn(wire));
    if (!ev) throw new Error(`no event for ${json}`);
    return ev;
  });
}

describe("wal2json format 2 decoder", () => {
  const events = decodeAll();

  it("produces begin/commit with commit LSNs and commit time", () => {
    expect(events[0]).toEqual({
      kind: "begin",
      xid: 743,
      commitLsn: parseLsn("0/16B2278"),
      commitTimeMs: Date.parse("2024-05-01T10:11:12.123Z"),
    });
    expect(events[6]).toEqual({
      kind: "commit",
      commitLsn: parseLsn("0/16B2278"),
      endLsn: parseLsn("0/16B22A8"),
      commitTimeMs: Date.parse("2024-05-01T10:11:12.123Z"),
    });
  });

  it("gives every value as the output text pgoutput would send", () => {
    const ins = events[1];
    expect(ins?.kind).toBe("insert");
    if (ins?.kind !== "insert") return;
    expect(ins.new).toEqual({
      id: "9007199254740993",
      title: 'café "q"',
      flag: "t",
      off: "f",
      price: "1.50",
      ratio: "NaN",
      raw: "\\xdeadbeef",
      j: '{"a": [1, 2]}',
      tags: '{x,"y z"}',
      note: null,
    });
    expect(ins.relation).toMatchObject({ schema: "public", table: "items", keyColumns: ["id"] });
    expect(ins.lsn).toBe(parseLsn("0/16B1F10"));
  });

  it("leaves columns wal2json omitted (unchanged TOAST) undefined and maps identity to the key", () => {
    const u = events[2];
    if (u?.kind !== "update") throw new Error("not an update");
    expect(u.new).toEqual({ id: "9007199254740993", title: "b" });
    expect(u.new.body).toBeUndefined();
    expect(u.key).toEqual({ id: "9007199254740993" });
    const moved = events[3];
    if (moved?.kind !== "update") throw new Error("not an update");
    expect(moved.key).toEqual({ id: "9007199254740993" });
    expect(moved.new.id).toBe("2");
  });

  it("decodes delete, truncate and logical messages", () => {
    expect(events[4]).toMatchObject({ kind: "delete", key: { id: "2" }, old: null });
    expect(events[5]).toMatchObject({ kind: "truncate", relations: [{ table: "items" }] });
    expect(events[7]).toEqual({
      kind: "message",
      lsn: parseLsn("0/16B2300"),
      transactional: false,
      prefix: "athena_ts_heartbeat",
      content: "1714558272000",
    });
  });

  it("returns a parse failure instead of throwing on broken JSON", () => {
    const r = new SafeWal2JsonPlugin({}).parse(Buffer.from('{"action":"I",'));
    expect(r).toMatchObject({ tag: "__parse_error" });
  });

  it("parses timestamptz_to_str output with any offset", () => {
    expect(wal2jsonTimeMs("2024-05-01 12:11:12.5+02")).toBe(Date.parse("2024-05-01T10:11:12.500Z"));
    expect(wal2jsonTimeMs("2024-05-01 05:41:12-04:30")).toBe(
      Date.parse("2024-05-01T10:11:12.000Z"),
    );
    expect(wal2jsonTimeMs(undefined)).toBeNaN();
    expect(wal2jsonTimeMs("garbage")).toBeNaN();
  });

  it("starts replication with the options that keep values exact", async () => {
    const opts = wal2jsonOptions({
      tables: [
        { schema: "public", table: "items" },
        { schema: "odd schema", table: "a.b" },
      ],
      messagePrefixes: ["athena_ts_heartbeat", "athena_ts_watermark"],
    });
    let sql = "";
    // a stand-in for pg.Client: only its query text is inspected
    const fakeClient = {
      query: async (text: string) => {
        sql = text;
      },
    } as unknown as Client;
    await new SafeWal2JsonPlugin(opts).start(fakeClient, "slot_x", "0/16B2278");
    // wal2json 2.5 (Debian bookworm) rejects it; numbers are quoted by the parser
    expect(sql).not.toContain("numeric-data-types-as-string");
    expect(sql).toMatch(/^START_REPLICATION SLOT "slot_x" LOGICAL 0\/16B2278 \(/);
    for (const part of [
      `"format-version" '2'`,
      `"include-type-oids" 'on'`,
      `"include-lsn" 'on'`,
      `"include-types" 'off'`,
      `"add-tables" 'public.items,odd\\ schema.a\\.b'`,
      `"add-msg-prefixes" 'athena_ts_heartbeat,athena_ts_watermark'`,
    ]) {
      expect(sql).toContain(part);
    }
  });
});

describe("quoteBareValues (wal2json 2.5 without numeric-data-types-as-string)", () => {
  it("keeps every digit of int8/numeric and leaves strings alone", () => {
    const line =
      '{"action":"I","columns":[{"name":"i8","typeoid":20,"value":9223372036854775807},' +
      '{"name":"n","typeoid":1700,"value":-12345678901234567890.123456789},' +
      '{"name":"f","typeoid":701,"value":1.5e-7},{"name":"z","typeoid":701,"value":-0},' +
      '{"name":"t","typeoid":25,"value":"x \\"value\\":12 y"},{"name":"nan","typeoid":701,"value":null}]}';
    const rec = new SafeWal2JsonPlugin({}).parse(Buffer.from(line)) as Wal2JsonV2Record;
    expect(rec.columns?.map((c) => c.value)).toEqual([
      "9223372036854775807",
      "-12345678901234567890.123456789",
      "1.5e-7",
      "-0",
      'x "value":12 y',
      null,
    ]);
  });
});
