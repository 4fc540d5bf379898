import { describe, expect, it } from "vitest";
import { runWhileLeader } from "../../src/cdc/leader.js";
import { createPools } from "../../src/db/pool.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";

const db = useTestDatabase({ migrate: false });

/** Resolves with `p`, or rejects after `ms` (a bound for a hang, not a timing assertion). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: hung`)), ms)),
  ]);
}

describe("the control pool of many source clients", () => {
  it("still serves queries while this instance leads the CDC stream of every client and LISTENs", async () => {
    // 12 clients: more than the pool's working size of 10 (bench/many-jobs has 20)
    const names = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const pools = createPools({
      controlUrl: db.url,
      clients: Object.fromEntries(names.map((n) => [n, { url: db.url }])),
      log: silentLogger(),
    });
    const stop = new AbortController();
    const leading = new Set<string>();
    const leaders = names.map((n) =>
      runWhileLeader(
        { control: pools.control, clientName: n, log: silentLogger(), standbyPollMs: 50 },
        stop.signal,
        async (signal) => {
          leading.add(n);
          await new Promise<void>((r) => signal.addEventListener("abort", () => r()));
        },
      ),
    );
    let listener: { release(): void } | null = null;
    try {
      // the scheduler's LISTEN connection is held as long as serve runs
      listener = await within(pools.control.connect(), 15_000, "the LISTEN connection");
      await within(
        (async () => {
          while (leading.size < names.length) await new Promise((r) => setTimeout(r, 20));
        })(),
        15_000,
        "every client led",
      );
      // what the API, the scheduler and the streams' control writes need meanwhile
      const busy = await within(
        Promise.all(
          Array.from({ length: 5 }, () => pools.control.query<{ one: number }>("select 1 as one")),
        ),
        8000,
        "control queries while every lock is held",
      );
      expect(busy.map((r) => r.rows[0]!.one)).toEqual([1, 1, 1, 1, 1]);
    } finally {
      listener?.release();
      stop.abort();
      await Promise.all(leaders);
      await pools.close();
    }
  });
});
