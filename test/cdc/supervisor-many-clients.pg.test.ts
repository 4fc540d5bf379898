import { describe, expect, it } from "vitest";
import { createCdcSupervisor } from "../../src/cdc/supervisor.js";
import { createPools } from "../../src/db/pool.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { cdcConfig, insertJob, insertProfile, waitFor } from "./helpers.js";

const db = useTestDatabase();

describe("the CDC supervisor with many source clients", () => {
  it("leads a stream per client (12, over Node's 10 listeners per signal) without a MaxListenersExceededWarning", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `mc${i}`);
    const profileId = await insertProfile(db.pool, "http://127.0.0.1:9", "k");
    // tables that do not exist: each stream's setup fails and backs off, which is enough
    // here (its listeners are on the supervisor's signal from its start)
    for (const n of names) {
      await insertJob(db.pool, { profileId, client: n, table: "missing", collection: n });
    }
    const pools = createPools({
      controlUrl: db.url,
      clients: Object.fromEntries(names.map((n) => [n, { url: db.url }])),
      log: silentLogger(),
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    const sup = createCdcSupervisor({
      control: pools.control,
      pools,
      cdc: cdcConfig({ slot_prefix: "t_many" }),
      backendFor: async () => {
        throw new Error("no backend in this test");
      },
      log: silentLogger(),
      instanceId: "many-clients",
      pollMs: 100,
      leaderPollMs: 50,
      streamOptions: { backoff: { baseMs: 50, maxMs: 200 } },
    });
    const stop = new AbortController();
    const run = sup.run(stop.signal);
    try {
      await waitFor("every client led", () => names.every((n) => sup.isLeader(n)), 20_000);
      // process warnings are emitted on the next tick
      await new Promise((r) => setTimeout(r, 50));
      expect(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning"))).toEqual([]);
    } finally {
      stop.abort();
      await run;
      process.off("warning", onWarning);
      await pools.close();
    }
  });
});
