import { describe, expect, it } from "vitest";
import { readinessOf, serveProbes } from "../../src/cli/readiness.js";
import { closingService } from "../../src/cli/wiring.js";
import { runServices, type Service } from "../../src/lifecycle/index.js";
import { silentLogger } from "../support/log.js";

describe("readinessOf (AppDeps.readiness from named probes)", () => {
  it("names every check; a probe that throws or rejects counts as failed", async () => {
    const ready = readinessOf({
      a: () => true,
      b: async () => false,
      c: () => {
        throw new Error("down");
      },
      d: () => Promise.reject(new Error("down")),
    });
    expect(await ready()).toEqual({ a: true, b: false, c: false, d: false });
  });

  it("serve's `serving` check turns false once the stop signal arrived", async () => {
    const stop = new AbortController();
    const ready = readinessOf(serveProbes({ signal: stop.signal }));
    expect(await ready()).toEqual({ serving: true });
    stop.abort();
    expect(await ready()).toEqual({ serving: false });
  });
});

describe("closingService (the shared Typesense clients in serve's stop order)", () => {
  it("closes only after every service listed after it has stopped", async () => {
    const events: string[] = [];
    const user: Service = {
      name: "http",
      run: (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            setTimeout(() => {
              events.push("http stopped");
              resolve();
            }, 20);
          });
        }),
    };
    const stop = new AbortController();
    const done = runServices(
      [closingService("clients", async () => void events.push("clients closed")), user],
      { log: silentLogger(), signal: stop.signal, drainTimeoutMs: 1000 },
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual([]);
    stop.abort();
    await done;
    expect(events).toEqual(["http stopped", "clients closed"]);
  });
});
