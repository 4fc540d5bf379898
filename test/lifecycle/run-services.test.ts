import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { backoffDelay, sleepUnlessAborted } from "../../src/lifecycle/backoff.js";
import { runServices, type Service } from "../../src/lifecycle/service.js";
import { capturingLogger } from "../support/log.js";

function recorder(
  events: string[],
  name: string,
  opts: { failAfterMs?: number; hang?: boolean } = {},
): Service {
  return {
    name,
    async run(signal) {
      events.push(`start ${name}`);
      if (opts.failAfterMs !== undefined) {
        await sleep(opts.failAfterMs);
        throw new Error(`${name} broke`);
      }
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
      if (opts.hang) await new Promise(() => {});
      events.push(`stop ${name}`);
    },
  };
}

describe("runServices", () => {
  it("starts in order and stops in reverse order when the signal aborts", async () => {
    const events: string[] = [];
    const ctl = new AbortController();
    const { log } = capturingLogger();
    const done = runServices(
      [recorder(events, "a"), recorder(events, "b"), recorder(events, "c")],
      {
        log,
        signal: ctl.signal,
        drainTimeoutMs: 1000,
      },
    );
    await sleep(10);
    ctl.abort();
    const r = await done;
    expect(r).toEqual({ failed: undefined, timedOut: [] });
    expect(events).toEqual(["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
  });

  it("a failing service stops the others and is reported", async () => {
    const events: string[] = [];
    const { log, lines } = capturingLogger();
    const r = await runServices(
      [recorder(events, "a"), recorder(events, "b", { failAfterMs: 5 })],
      {
        log,
        signal: new AbortController().signal,
        drainTimeoutMs: 1000,
      },
    );
    expect(r.failed?.message).toBe("b broke");
    expect(events).toEqual(["start a", "start b", "stop a"]);
    expect(lines().some((l) => l.includes('"service failed"') && l.includes('"service":"b"'))).toBe(
      true,
    );
  });

  it("a service that does not drain is abandoned after the bound and named", async () => {
    const events: string[] = [];
    const ctl = new AbortController();
    const { log } = capturingLogger();
    const done = runServices([recorder(events, "ok"), recorder(events, "stuck", { hang: true })], {
      log,
      signal: ctl.signal,
      drainTimeoutMs: 50,
    });
    ctl.abort();
    const r = await done;
    expect(r.timedOut).toEqual(["stuck"]);
    expect(events).toContain("stop ok");
  });
});

describe("backoff", () => {
  it("doubles from the base, caps, and jitters within bounds", () => {
    const mid = () => 0.5;
    expect(
      [1, 2, 3, 4].map((n) => backoffDelay(n, { baseMs: 400, maxMs: 2000, random: mid })),
    ).toEqual([400, 800, 1600, 2000]);
    const lo = backoffDelay(1, { baseMs: 1000, maxMs: 10_000, jitter: 0.2, random: () => 0 });
    const hi = backoffDelay(1, { baseMs: 1000, maxMs: 10_000, jitter: 0.2, random: () => 1 });
    expect([lo, hi]).toEqual([800, 1200]);
  });

  it("sleepUnlessAborted returns false on abort", async () => {
    const ctl = new AbortController();
    const p = sleepUnlessAborted(10_000, ctl.signal);
    ctl.abort();
    expect(await p).toBe(false);
    expect(await sleepUnlessAborted(1)).toBe(true);
  });
});
