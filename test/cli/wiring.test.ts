import { describe, expect, it } from "vitest";
import { fullSyncWriteGate } from "../../src/cli/wiring.js";

describe("fullSyncWriteGate (the engine's per-window check in serve)", () => {
  const leads = new Set(["a"]);
  const gate = fullSyncWriteGate(true, (client) => leads.has(client));

  it("lets a CDC job's windows be written only while this instance may run its client", () => {
    expect(gate({ sourceClientName: "a", cdcEnabled: true })).toBe(true);
    expect(gate({ sourceClientName: "b", cdcEnabled: true })).toBe(false);
    leads.delete("a"); // the leadership moved
    expect(gate({ sourceClientName: "a", cdcEnabled: true })).toBe(false);
    leads.add("a");
  });

  it("never stops jobs without CDC, nor anything when CDC is off", () => {
    expect(gate({ sourceClientName: "b", cdcEnabled: false })).toBe(true);
    const off = fullSyncWriteGate(false, () => false);
    expect(off({ sourceClientName: "a", cdcEnabled: true })).toBe(true);
  });
});
