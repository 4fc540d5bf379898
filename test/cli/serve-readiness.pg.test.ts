import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServe } from "../../src/cli/serve.js";
import type { Config } from "../../src/config/index.js";
import { testConfig } from "../http/fixture.js";
import { SQL_DIR, useTestDatabase } from "../support/pg.js";

const db = useTestDatabase({ migrate: false });

/**
 * The real `serve`, in this process: its /ready carries the probes the
 * composition root passes in (cli/readiness.ts), not only the app's own
 * control_db and migrations checks.
 */
describe("serve: /ready uses the readiness probes serve passes in", () => {
  const stop = new AbortController();
  let url = "";
  let done: Promise<number> | undefined;
  beforeAll(async () => {
    const base = testConfig({ controlUrl: db.url });
    const config: Config = {
      ...base,
      server: { ...base.server, host: "127.0.0.1", port: 0 },
      log: { ...base.log, level: "silent" },
      typesense: { ...base.typesense, sync_worker_enabled: false },
      cdc: { ...base.cdc, enabled: false },
      shutdown: { drain_timeout_ms: 5000 },
    };
    url = await new Promise<string>((resolve, reject) => {
      done = runServe({
        config,
        sqlDir: SQL_DIR,
        migrate: true,
        exit: () => {},
        signal: stop.signal,
        onListening: resolve,
      });
      done.then(
        (code) => reject(new Error(`serve stopped before listening (exit ${code})`)),
        reject,
      );
    });
  });
  afterAll(async () => {
    stop.abort();
    await done;
  });

  it("reports serve's `serving` check beside control_db and migrations", async () => {
    const res = await fetch(`${url}/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { checks: Record<string, boolean> } };
    expect(body.data.checks).toMatchObject({ control_db: true, migrations: true, serving: true });
  });
});
