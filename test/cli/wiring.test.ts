import { describe, expect, it } from "vitest";
import { fullSyncWriteGate, warnIfKeysUnencrypted } from "../../src/cli/wiring.js";
import type { Config } from "../../src/config/index.js";
import { capturingLogger } from "../support/log.js";

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

describe("warnIfKeysUnencrypted (serve's startup check)", () => {
  const config = (encryption_key: string) => ({ security: { encryption_key } }) as Config;

  it("warns once without security.encryption_key, and not at all with one", () => {
    const off = capturingLogger("info");
    warnIfKeysUnencrypted(config(""), off.log);
    off.log.flush();
    const lines = off.lines().filter((l) => l.includes("stored unencrypted"));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "warn",
      setting: "security.encryption_key",
    });
    const on = capturingLogger("info");
    warnIfKeysUnencrypted(config("00".repeat(32)), on.log);
    on.log.flush();
    expect(on.lines()).toEqual([]);
  });
});
