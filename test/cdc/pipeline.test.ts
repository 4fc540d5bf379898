import { describe, expect, it } from "vitest";
import type { Checkpoint } from "../../src/cdc/applier-types.js";
import { parseLsn } from "../../src/cdc/lsn.js";
import { type FlushJob, type WriteOutcome, WritePipeline } from "../../src/cdc/pipeline.js";
import type { Rejection } from "../../src/cdc/writer.js";

const tick = () => new Promise((r) => setTimeout(r, 1));

function job(n: number, lsn: bigint | null): FlushJob {
  return {
    work: [],
    rejections: [],
    lsn,
    fresh: lsn !== null,
    commitTimeMs: n,
    oldestCommitMs: lsn !== null ? n : null,
  };
}

const rejection = (docId: string): Rejection => ({
  jobId: "j",
  docId,
  operation: "upsert",
  payload: null,
  code: 400,
  error: "bad",
});

describe("WritePipeline", () => {
  it("writes one at a time in order; checkpoints in order, never ahead of a running write", async () => {
    const log: string[] = [];
    const checkpoints: Checkpoint[] = [];
    let running = 0;
    const p = new WritePipeline({
      now: () => 0,
      write: async (j) => {
        running++;
        expect(running).toBe(1);
        log.push(`write ${j.commitTimeMs}`);
        await tick();
        running--;
        return { applied: 1, rejections: [], written: new Map([["j", [String(j.commitTimeMs)]]]) };
      },
      checkpoint: async (c) => {
        log.push(`checkpoint ${c.lsn}`);
        await tick();
        await tick();
        checkpoints.push(c);
      },
    });
    const ctl = new AbortController();
    for (let i = 1; i <= 6; i++) p.submit(job(i, i % 2 === 0 ? BigInt(i * 100) : null), ctl.signal);
    await p.settle();
    expect(log.filter((l) => l.startsWith("write"))).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => `write ${i}`),
    );
    // each checkpoint covers only writes already logged before it
    for (const [i, l] of log.entries()) {
      if (!l.startsWith("checkpoint") || l === "checkpoint null") continue;
      const n = Number(l.split(" ")[1]) / 100;
      expect(log.slice(0, i)).toContain(`write ${n}`);
    }
    const lsns = checkpoints.flatMap((c) => (c.lsn === null ? [] : [c.lsn]));
    expect([...lsns].sort((a, b) => Number(a - b))).toEqual(lsns);
    expect(lsns.at(-1)).toBe(600n);
    expect(checkpoints.reduce((a, c) => a + c.applied, 0)).toBe(6);
    expect(checkpoints.length).toBeLessThan(6); // coalesced while one ran
    expect(p.size).toBe(0);
  });

  it("merged checkpoints keep each document's final dead-letter state", async () => {
    const outcomes: WriteOutcome[] = [
      { applied: 1, rejections: [rejection("a")], written: new Map([["j", ["b"]]]) },
      { applied: 1, rejections: [rejection("b")], written: new Map([["j", ["a"]]]) },
    ];
    const checkpoints: Checkpoint[] = [];
    let gate: () => void = () => {};
    const open = new Promise<void>((r) => {
      gate = r;
    });
    const p = new WritePipeline({
      now: () => 0,
      write: async (j) => outcomes[j.commitTimeMs]!,
      checkpoint: async (c) => {
        if (c.lsn === 1n) await open; // holds the first so the next two merge
        checkpoints.push(c);
      },
    });
    const s = new AbortController().signal;
    p.submit(job(0, 1n), s);
    await tick();
    p.submit(job(0, 2n), s);
    p.submit(job(1, 3n), s);
    await tick();
    gate();
    await p.settle();
    const last = checkpoints.at(-1)!;
    expect(last.lsn).toBe(3n);
    // "a" rejected then written: resolved; "b" written then rejected: open
    expect(last.rejections.map((r) => r.docId)).toEqual(["b"]);
    expect(last.written.get("j")).toEqual(["a"]);
  });

  it("a failed write stops everything after it until reset", async () => {
    const written: number[] = [];
    const checkpoints: Checkpoint[] = [];
    const p = new WritePipeline({
      now: () => 0,
      write: async (j) => {
        if (j.commitTimeMs === 2) throw new Error("typesense gone");
        written.push(j.commitTimeMs);
        return { applied: 1, rejections: [], written: new Map() };
      },
      checkpoint: async (c) => {
        checkpoints.push(c);
      },
    });
    const s = new AbortController().signal;
    p.submit(job(1, 100n), s);
    p.submit(job(2, 200n), s);
    p.submit(job(3, 300n), s);
    await expect(p.settle()).rejects.toThrow("typesense gone");
    expect(written).toEqual([1]);
    expect(checkpoints.every((c) => c.lsn === null || c.lsn <= 100n)).toBe(true);
    expect(() => p.submit(job(4, 400n), s)).toThrow("typesense gone");
    await p.reset();
    p.submit(job(4, 400n), s);
    await p.settle();
    expect(checkpoints.at(-1)?.lsn).toBe(400n);
  });

  it("is idle only while no write is queued or running, and reports each completed write", async () => {
    let release: () => void = () => {};
    const settled: boolean[] = [];
    const p: WritePipeline = new WritePipeline({
      now: () => 0,
      write: () =>
        new Promise<WriteOutcome>((r) => {
          release = () => r({ applied: 0, rejections: [], written: new Map() });
        }),
      checkpoint: async () => {},
      // what the applier asks on completion: may a flush start now?
      onSettled: () => settled.push(p.idle(3)),
    });
    expect(p.idle(3)).toBe(true);
    p.submit(job(1, 100n), new AbortController().signal);
    expect(p.idle(3)).toBe(false);
    await tick();
    expect(p.idle(3)).toBe(false); // the write is running
    release();
    await p.settle();
    // the write's completion saw the pipeline idle (its checkpoint may still run)
    expect(settled[0]).toBe(true);
    expect(p.idle(3)).toBe(true);
    // room for `n` flushes awaiting their checkpoint: with 1 allowed, one pending is not idle
    expect(p.idle(1)).toBe(true);
  });
});

describe("parseLsn", () => {
  it("reads both paddings and rejects garbage", () => {
    expect(parseLsn("16/B374D848")).toBe(0x16b374d848n);
    expect(parseLsn("00000016/0000D848")).toBe(0x160000d848n);
    expect(parseLsn("ffffffff/ffffffff")).toBe(0xffffffffffffffffn);
    expect(parseLsn(" 1/2 ")).toBe(0x100000002n);
    expect(parseLsn(null)).toBe(0n);
    for (const bad of ["", "/1", "1/", "1/2/3", "123456789/1", "g/1", "1/-2"]) {
      expect(() => parseLsn(bad)).toThrow();
    }
  });
});
