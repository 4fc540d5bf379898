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

  it("with several parents, aborts with whichever aborts first; unlink drops every listener", () => {
    const a = new AbortController();
    const b = new AbortController();
    const first = linkedAbort(a.signal, undefined, b.signal);
    b.abort();
    expect(first.ctl.signal.aborted).toBe(true);
    const second = linkedAbort(a.signal, new AbortController().signal);
    second.unlink();
    a.abort();
    expect(second.ctl.signal.aborted).toBe(false);
  });
});
