import { describe, expect, it } from "vitest";
import { LsnProgress } from "../../src/cdc/lsn-progress.js";

describe("LsnProgress", () => {
  it("checkpoints the end of a committed transaction, once", () => {
    const p = new LsnProgress();
    p.reset(100n);
    expect(p.unflushed).toBe(false);
    p.begin(1_000);
    p.commit(200n, 1_000);
    expect(p.unflushed).toBe(true);
    expect(p.take()).toEqual({
      lsn: 200n,
      fresh: true,
      commitTimeMs: 1_000,
      newestCommitMs: 1_000,
      oldestCommitMs: 1_000,
    });
    expect(p.unflushed).toBe(false);
    expect(p.take().lsn).toBeNull();
  });

  it("never checkpoints into an open transaction", () => {
    const p = new LsnProgress();
    p.reset(100n);
    p.begin(1_000);
    p.commit(200n, 1_000);
    p.begin(2_000);
    const pos = p.take();
    expect(pos.lsn).toBe(200n);
    expect(pos.newestCommitMs).toBe(2_000);
    // the open transaction is the oldest one still unapplied
    expect(p.oldestUnappliedCommitMs).toBe(2_000);
    expect(p.take().lsn).toBeNull();
  });

  it("moves by idle messages outside a transaction only, without fresh lag", () => {
    const p = new LsnProgress();
    p.reset(100n);
    p.begin(1_000);
    expect(p.idle(300n)).toBe(false);
    p.commit(200n, 1_000);
    expect(p.take().lsn).toBe(200n);
    expect(p.idle(300n)).toBe(true);
    const pos = p.take();
    expect(pos.lsn).toBe(300n);
    expect(pos.fresh).toBe(false);
    expect(pos.oldestCommitMs).toBeNull();
  });

  it("keeps the oldest unapplied commit time until a checkpoint covers it", () => {
    const p = new LsnProgress();
    p.reset(0n);
    p.begin(1_000);
    p.commit(10n, 1_000);
    p.begin(2_000);
    p.commit(20n, 2_000);
    expect(p.oldestUnappliedCommitMs).toBe(1_000);
    expect(p.take().oldestCommitMs).toBe(1_000);
    expect(p.oldestUnappliedCommitMs).toBeNull();
  });

  it("forgets what was received on reset (a new connection re-sends it)", () => {
    const p = new LsnProgress();
    p.reset(0n);
    p.begin(1_000);
    p.commit(50n, 1_000);
    p.idle(60n);
    p.reset(40n);
    expect(p.unflushed).toBe(false);
    expect(p.oldestUnappliedCommitMs).toBeNull();
    expect(p.inTxn).toBe(false);
  });

  it("measures how far behind the open or last transaction is", () => {
    const p = new LsnProgress();
    p.reset(0n);
    p.begin(1_000);
    expect(p.behindMs(1_500)).toBe(500);
    p.commit(10n, 1_200);
    expect(p.behindMs(1_500)).toBe(300);
  });
});
