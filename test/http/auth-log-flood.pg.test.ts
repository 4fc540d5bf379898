import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAuthLogWriter } from "../../src/control/auth-log-writer.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useListeningServer, useTestApp } from "./fixture.js";

/**
 * A flood of random gateway keys against a REAL listening server while the
 * auth log table is locked (its writes cannot finish): every attempt still
 * gets its 401, /health keeps answering, and once the lock is gone the
 * flood is a handful of rows whose counts add up to the attempts.
 */
const ATTEMPTS = 1_500;
const CONCURRENCY = 32;

const db = useTestDatabase();
const t = useTestApp(db, silentLogger, {
  authLog: (pools) =>
    createAuthLogWriter({ pool: pools.control, log: silentLogger(), flushIntervalMs: 50 }),
});
const server = useListeningServer(t, silentLogger);

const randomKey = () => `ath_${randomBytes(8).toString("hex")}.${randomBytes(32).toString("hex")}`;

/** ATTEMPTS requests with random keys, CONCURRENCY at a time, while /health is polled. */
async function flood(): Promise<{ statuses: number[]; health: number[] }> {
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ATTEMPTS) {
      next++;
      const res = await fetch(`${server.base}/typesense/sync-jobs?page=${next}`, {
        headers: { "X-Athena-Key": randomKey() },
        // a request held up by the locked table fails here instead of hanging the test
        signal: AbortSignal.timeout(20_000),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
  };
  const health: number[] = [];
  let flooding = true;
  const probe = (async () => {
    while (flooding) {
      const res = await fetch(`${server.base}/health`, { signal: AbortSignal.timeout(2_000) });
      health.push(res.status);
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    flooding = false;
    await probe;
  }
  return { statuses, health };
}

describe("auth log under a flood of bad keys", () => {
  it("1,500 random keys at concurrency 32: all 401, /health answers, rows stay bounded", async () => {
    const lock = await db.pool.connect();
    let result: Awaited<ReturnType<typeof flood>>;
    try {
      await lock.query("begin");
      await lock.query("lock table api_key_auth_log in access exclusive mode");
      result = await flood();
    } finally {
      await lock.query("rollback");
      lock.release();
    }
    const { statuses, health } = result;
    expect(statuses).toHaveLength(ATTEMPTS);
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((s) => s === 200)).toBe(true);
    // nothing could be written while the table was locked: the requests above did not wait for it
    await t.authLog?.flush();
    await t.authLog?.flush();
    const r = await db.pool.query<{ key_public_id: string; client_addr: string; attempts: number }>(
      "select key_public_id, client_addr, attempts::int from api_key_auth_log",
    );
    // per minute bucket at most: unknown keys as "none", folded "*", dropped
    expect(r.rows.length).toBeLessThanOrEqual(6);
    expect(r.rows.reduce((n, x) => n + x.attempts, 0)).toBe(ATTEMPTS);
    for (const row of r.rows) {
      expect(["none", "*"]).toContain(row.key_public_id);
      expect(["127.0.0.1", "::ffff:127.0.0.1", "*"]).toContain(row.client_addr);
    }
  });
});
