import { describe, expect, it } from "vitest";
import { coalesce, JobBatch, type UpsertOp, upsertLine } from "../../src/cdc/batch.js";
import { formatLsn, parseLsn } from "../../src/cdc/lsn.js";
import { streamObjectName } from "../../src/db/repositories/cdc-jobs.js";

describe("coalescing per document id", () => {
  it("folds a partial update into a pending upsert, dropping NULLed fields", () => {
    const r = coalesce(
      { kind: "upsert", id: "1", doc: { id: "1", a: "x", b: 2, c: true } },
      { kind: "partial", id: "1", doc: { id: "1", a: "y", b: null } },
    );
    expect(r).toEqual({ kind: "upsert", id: "1", doc: { id: "1", a: "y", c: true } });
  });

  it("merges partials (explicit nulls kept) and lets the last full write win", () => {
    const p = coalesce(
      { kind: "partial", id: "1", doc: { id: "1", a: "x", b: null } },
      { kind: "partial", id: "1", doc: { id: "1", c: 3 } },
    );
    expect(p).toEqual({ kind: "partial", id: "1", doc: { id: "1", a: "x", b: null, c: 3 } });
    expect(coalesce(p, { kind: "delete", id: "1" })).toEqual({ kind: "delete", id: "1" });
    const up = { kind: "upsert" as const, id: "1", doc: { id: "1", z: 1 } };
    expect(coalesce({ kind: "delete", id: "1" }, up)).toBe(up);
  });

  it("folds a partial into a serialized upsert (the stream's usual op), int64 exact", () => {
    const r = coalesce(
      { kind: "upsert", id: "1", line: '{"id":"1","a":"x","big":9223372036854775807,"b":2}' },
      { kind: "partial", id: "1", doc: { id: "1", a: "y", b: null } },
    );
    expect(r).toEqual({
      kind: "upsert",
      id: "1",
      doc: { id: "1", a: "y", big: 9223372036854775807n },
    });
    expect(upsertLine(r as UpsertOp)).toBe('{"id":"1","a":"y","big":9223372036854775807}');
    // a later full write replaces the pending op, serialized or not
    const b = new JobBatch();
    b.add({ kind: "partial", id: "1", doc: { id: "1", a: "x" } });
    b.add({ kind: "upsert", id: "1", line: '{"id":"1","a":"z"}' });
    expect(b.take()).toEqual([{ kind: "upsert", id: "1", line: '{"id":"1","a":"z"}' }]);
  });

  it("keeps one op per id in first-seen order", () => {
    const b = new JobBatch();
    b.add({ kind: "upsert", id: "a", doc: { id: "a", v: 1 } });
    b.add({ kind: "upsert", id: "b", doc: { id: "b", v: 1 } });
    b.add({ kind: "upsert", id: "a", doc: { id: "a", v: 2 } });
    b.add({ kind: "delete", id: "b" });
    expect(b.size).toBe(2);
    expect(b.take()).toEqual([
      { kind: "upsert", id: "a", doc: { id: "a", v: 2 } },
      { kind: "delete", id: "b" },
    ]);
    expect(b.size).toBe(0);
  });
});

describe("LSNs and names", () => {
  it("parses both paddings and compares numerically", () => {
    expect(parseLsn("16/B374D848")).toBe(parseLsn("00000016/B374D848"));
    expect(parseLsn("0/FFFFFFFF") + 1n).toBe(parseLsn("1/0"));
    expect(parseLsn("9/0") > parseLsn("10/0")).toBe(false);
    expect(formatLsn(parseLsn("00000016/0000D848"))).toBe("16/D848");
    expect(parseLsn(null)).toBe(0n);
    expect(() => parseLsn("16-B3")).toThrow(/invalid LSN/);
  });

  it("derives distinct valid slot names from client names", () => {
    expect(streamObjectName("athena_ts", "app")).toBe("athena_ts_app");
    const a = streamObjectName("athena_ts", "a-b");
    const b = streamObjectName("athena_ts", "a_b");
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z0-9_]{1,63}$/);
    expect(streamObjectName("p", "X".repeat(80))).toMatch(/^[a-z0-9_]{1,63}$/);
  });
});
