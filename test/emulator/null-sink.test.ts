import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EmulatorHandle,
  type NullSinkOption,
  startEmulator,
} from "../../src/emulator/index.js";
import { clientFor, describeEmulatorOnly, type TypesenseTarget } from "../support/typesense.js";
import { importLines, jsonl, makeCollection, raw } from "./helpers.js";

/** An emulator in the given null-sink mode for this file (always the emulator, never real). */
function useSink(mode: NullSinkOption): TypesenseTarget & { emulator: EmulatorHandle } {
  let h: EmulatorHandle | undefined;
  const apiKey = `k-${randomBytes(4).toString("hex")}`;
  let n = 0;
  beforeAll(async () => {
    h = await startEmulator({ apiKey, nullSink: mode });
  });
  afterAll(async () => {
    await h?.close();
  });
  return {
    get url() {
      return h!.url;
    },
    apiKey,
    get client() {
      return clientFor(h!.url, apiKey);
    },
    get emulator() {
      return h!;
    },
    isReal: false,
    uniqueName: (prefix = "c") => `${prefix}_${++n}_${randomBytes(3).toString("hex")}`,
    makeClient: (o) => clientFor(h!.url, apiKey, o),
  };
}

/** An import of raw bytes (the helpers send strings, always valid UTF-8). */
async function postBytes(ts: TypesenseTarget, name: string, body: Buffer, query: string) {
  const res = await fetch(`${ts.url}/collections/${name}/documents/import${query}`, {
    method: "POST",
    headers: { "X-TYPESENSE-API-KEY": ts.apiKey, "Content-Type": "text/plain" },
    body,
  });
  return { status: res.status, text: await res.text() };
}

const validating = useSink("validate");
const fast = useSink(true);

const FIELDS = [
  { name: "t", type: "string" },
  { name: "n", type: "int32", optional: true },
];

describe("null sink, --null-sink=validate (issue 4)", () => {
  const ts = validating;
  it("validates every line, returns correct result lines, stores nothing, counts", async () => {
    const name = await makeCollection(ts, FIELDS);
    const before = ts.emulator.stats();
    const r = await importLines(
      ts,
      name,
      [
        JSON.stringify({ id: "a", t: "x" }),
        "",
        JSON.stringify({ id: "b", t: 1 }),
        "{oops",
        JSON.stringify({ t: "y" }),
      ].join("\n"),
      "?return_id=true",
    );
    const out = r.text.split("\n").map((l) => JSON.parse(l));
    expect(out[0]).toEqual({ id: "a", success: true });
    expect(out[1]).toEqual({ code: 400, error: "Field `t` must be a string.", success: false });
    expect(out[2].error).toMatch(/^Bad JSON: /);
    expect(out[3]).toMatchObject({ success: true });
    // Creating the same id twice is not a conflict: nothing is stored.
    const again = await importLines(ts, name, jsonl([{ id: "a", t: "x" }]));
    expect(again.text).toBe('{"success":true}');
    const after = ts.emulator.stats();
    expect(after.importRequests - before.importRequests).toBe(2);
    expect(after.importedLines - before.importedLines).toBe(5);
    expect(after.importSucceeded - before.importSucceeded).toBe(3);
    expect(after.importFailed - before.importFailed).toBe(2);
    expect(after.importBytes).toBeGreaterThan(before.importBytes);
    expect((await raw(ts, "GET", `/collections/${name}`)).json.num_documents).toBe(0);
    expect((await raw(ts, "GET", `/collections/${name}/documents/export`)).text).toBe("");
    expect(after.documents).toBe(0);
  });

  it("update validates the given fields only and succeeds", async () => {
    const name = await makeCollection(ts, [{ name: "t", type: "string" }]);
    const r = await importLines(
      ts,
      name,
      jsonl([
        { id: "a", n: 1 },
        { id: "b", t: 2 },
      ]),
      "?action=update",
    );
    expect(r.text).toBe(
      '{"success":true}\n{"code":400,"error":"Field `t` must be a string.","success":false}',
    );
  });
});

/**
 * Schema-valid lines, odd shapes included: the fast sink must answer each exactly like the
 * validating one (which parses every line), whether it scans the line or falls back.
 */
const SAME_ANSWER_LINES = [
  '{"id":"a","t":"x"}',
  '{"t":"x","id":"b","n":3}',
  '{"t":"no id"}',
  '{"t":"nested","meta":{"id":"inner"},"id":"outer"}',
  '{"t":"nested only","meta":{"id":"inner"}}',
  '{"t":"{ in a string","id":"c"}',
  '{"id":"a\\"b\\\\c","t":"escaped id"}',
  '{"id":"\\u00e9t\\u00e9","t":"unicode escape"}',
  '{"a\\"id":"fake","t":"escaped quote before id:, a key named a\\"id"}',
  '{"\\u0069d":5,"t":"escaped id key with a numeric value"}',
  '{"\\u0069d":"esc","t":"escaped id key"}',
  '{"id":"a","t":"x","\\u0069d":"b"}',
  '{"id":"a","t":"x","i\\u0064":5}',
  '{"id":"été ✓","t":"raw unicode"}',
  '{"id":"first","t":"dup","id":"second"}',
  '{ "id" : "spaced", "t": "x" }',
  '{"id":1,"t":"numeric id"}',
  '{"id":"","t":"empty id"}',
  '{"id":null,"t":"null id"}',
  '{"id":"tab\there","t":"raw control character"}',
  '{"id":"unterminated}',
  "{oops",
  "{oops}x",
  "[1,2]",
  '"a string"',
  "42",
  "null",
  ' {"id":"leading space","t":"x"}',
  '{"id":"cr","t":"x"}\r',
  '{"valid":"a key ending in id","t":"no id key"}',
  '{"valid":"x","id":"after valid","t":"x"}',
  '{"t":"id","id":"the string id before the key"}',
  '{"t":"x","id":"id":"y"}',
  '{"t":"nested later","meta":{"id":"inner"},"n":1}',
  '{"id":"{","t":"brace id"}',
];

describeEmulatorOnly("null sink, default (fast) mode", () => {
  it("answers every line like the validating sink for schema-valid input", async () => {
    for (const query of [
      "",
      "?return_id=true",
      "?action=upsert&return_id=true",
      "?action=emplace",
    ]) {
      const a = await makeCollection(fast, FIELDS);
      const b = await makeCollection(validating, FIELDS);
      const body = SAME_ANSWER_LINES.join("\n");
      const got = await importLines(fast, a, body, query);
      const want = await importLines(validating, b, body, query);
      expect(got.status).toBe(200);
      expect(got.text.split("\n")).toHaveLength(SAME_ANSWER_LINES.length);
      expect(got.text).toBe(want.text);
    }
  });

  it("bodies of many chunks, non-ASCII and invalid UTF-8: same answers and stats", async () => {
    // ~250 KB: the server reads it in several chunks, lines and characters cut between them
    const lines: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const doc = { id: String(i), t: `row ${i} ${"x".repeat(i % 200)}` };
      const kind = i % 6;
      if (kind === 0) {
        const bad = Buffer.from([0xff, 0xe2, 0x82]); // decoded as U+FFFD, in the id
        lines.push(Buffer.concat([Buffer.from(`{"id":"b${i}`), bad, Buffer.from('","t":"x"}')]));
      } else if (kind === 1) {
        lines.push(Buffer.from(JSON.stringify({ id: `é${i}✓𝄞`, t: "ü".repeat(i % 90) })));
      } else if (kind === 2) {
        lines.push(Buffer.concat([Buffer.from('{"t":"cut '), Buffer.from([0xf0, 0x9f])]));
      } else if (kind === 3) {
        lines.push(Buffer.from(JSON.stringify({ t: `no id ${"é".repeat(i % 70)}` })));
      } else {
        lines.push(Buffer.from(JSON.stringify(doc)));
      }
    }
    const body = Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]));
    expect(body.length).toBeGreaterThan(200_000);
    const a = await makeCollection(fast, FIELDS);
    const b = await makeCollection(validating, FIELDS);
    const q = "?action=upsert&return_id=true";
    const delta = async (ts: typeof fast, name: string) => {
      const before = ts.emulator.stats();
      const r = await postBytes(ts, name, body, q);
      const after = ts.emulator.stats();
      const keys = ["importedLines", "importSucceeded", "importFailed", "importBytes"] as const;
      return { ...r, stats: keys.map((k) => after[k] - before[k]) };
    };
    const got = await delta(fast, a);
    const want = await delta(validating, b);
    expect(got.text.split("\n")).toHaveLength(3000);
    expect(got).toEqual(want);
    expect(got.stats[3]).toBe(body.toString("utf8").length);
  });

  it("update: an object without id is rejected, ids are answered as given", async () => {
    const a = await makeCollection(fast, FIELDS);
    const b = await makeCollection(validating, FIELDS);
    const body = ['{"id":"u1","n":2}', '{"n":2}', '{"id":"u2"}', '{"a\\"id":"fake","n":2}'].join(
      "\n",
    );
    const q = "?action=update&return_id=true";
    const got = await importLines(fast, a, body, q);
    expect(got.text).toBe((await importLines(validating, b, body, q)).text);
    expect(got.text.split("\n")[1]).toBe(
      '{"code":400,"error":"For update, the `id` key must be provided.","success":false}',
    );
  });

  it("sidecar-shaped import: one {id, success} per line, stores nothing, counts", async () => {
    const name = await makeCollection(fast, FIELDS);
    const before = fast.emulator.stats();
    const docs = Array.from({ length: 500 }, (_, i) => ({ id: String(i), t: `row ${i}`, n: i }));
    const r = await importLines(fast, name, `${jsonl(docs)}\n`, "?action=upsert&return_id=true");
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/plain/);
    expect(r.text).toBe(docs.map((d) => `{"id":"${d.id}","success":true}`).join("\n"));
    const after = fast.emulator.stats();
    expect(after.importRequests - before.importRequests).toBe(1);
    expect(after.importedLines - before.importedLines).toBe(500);
    expect(after.importSucceeded - before.importSucceeded).toBe(500);
    expect(after.importFailed - before.importFailed).toBe(0);
    expect(after.documents).toBe(0);
    expect((await raw(fast, "GET", `/collections/${name}`)).json.num_documents).toBe(0);
    expect((await raw(fast, "GET", `/collections/${name}/documents/export`)).text).toBe("");
  });

  it("does not validate the schema (that is --null-sink=validate), except with return_doc", async () => {
    const name = await makeCollection(fast, FIELDS);
    const body = jsonl([{ id: "x", t: 1 }]);
    expect((await importLines(fast, name, body, "?return_id=true")).text).toBe(
      '{"id":"x","success":true}',
    );
    // return_doc answers with the validated document, so such requests take the full path
    expect((await importLines(fast, name, body, "?return_doc=true")).text).toBe(
      '{"code":400,"document":"{\\"id\\":\\"x\\",\\"t\\":1}","error":"Field `t` must be a string.","success":false}',
    );
  });

  it("malformed requests get the same 4xx as the validating sink", async () => {
    const a = await makeCollection(fast, FIELDS);
    const b = await makeCollection(validating, FIELDS);
    const body = jsonl([{ id: "a", t: "x" }]);
    for (const q of ["?action=replace", "?batch_size=0", "?return_id=maybe", "?return_doc=1"]) {
      const got = await importLines(fast, a, body, q);
      const want = await importLines(validating, b, body, q);
      expect(got.status).toBe(400);
      expect([got.status, got.text]).toEqual([want.status, want.text]);
    }
    const missing = await importLines(fast, "nope", body);
    expect([missing.status, missing.json]).toEqual([404, { message: "Collection not found" }]);
  });
});
