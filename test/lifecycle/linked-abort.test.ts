import { describe, expect, it } from "vitest";
import { linkedAbort } from "../../src/lifecycle/abort.js";

describe("linkedAbort", () => {
  it("aborts the child with the parent, and no more once unlinked", () => {
    const parent = new AbortController();
    const a = linkedAbort(parent.signal);
    const b = linkedAbort(parent.signal);
    b.unlink();
    parent.abort();
    expect(a.ctl.signal.aborted).toBe(true);
    expect(b.ctl.signal.aborted).toBe(false);
  });

  it("aborts the child at once when the parent is already aborted", () => {
    const parent = new AbortController();
    parent.abort();
    expect(linkedAbort(parent.signal).ctl.signal.aborted).toBe(true);
  });
});
