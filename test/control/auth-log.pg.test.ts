import { describe, expect, it } from "vitest";
import { createAuthLogService } from "../../src/control/auth-log-retention.js";
import { type AuthAttempt, createAuthLogWriter } from "../../src/control/auth-log-writer.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";

const db = useTestDatabase();

const attempt = (over: Partial<AuthAttempt> = {}): AuthAttempt => ({
  keyPublicId: "none",
  method: "GET",
  route: "/typesense/sync-jobs",
  rightNeeded: "gateway.typesense_proxy",
  outcome: "refused",
  status: 401,
  reason: "Invalid API key",
  clientAddr: "10.0.0.1",
  ...over,
});

async function rows() {
  const r = await db.pool.query<{
    key_public_id: string;
    client_addr: string;
    outcome: string;
    attempts: number;
  }>("select key_public_id, client_addr, outcome, attempts::int from api_key_auth_log order by id");
  return r.rows;
}

const total = (rs: { attempts: number }[]) => rs.reduce((n, r) => n + r.attempts, 0);

describe("auth log writer bounds", () => {
  it("beyond maxTuplesPerBucket new tuples fold into one '*' row; beyond maxPending they are dropped and counted", async () => {
    await db.pool.query("delete from api_key_auth_log");
    const w = createAuthLogWriter({
      pool: db.pool,
      log: silentLogger(),
      flushIntervalMs: 60_000,
      maxTuplesPerBucket: 10,
      maxPending: 12,
      now: () => Date.parse("2026-01-01T00:00:30Z"),
    });
    // 500 distinct addresses (a spray): 10 get their own rows, the rest fold
    for (let i = 0; i < 500; i++) w.record(attempt({ clientAddr: `10.0.${i >> 8}.${i & 255}` }));
    // 5 new distinct reasons: 1 more folded row fits (pending 11 -> 12), 4 are dropped
    for (let i = 0; i < 5; i++) w.record(attempt({ clientAddr: "9.9.9.9", reason: `r${i}` }));
    expect(w.stats()).toMatchObject({ recorded: 505, dropped: 4, pending: 12 });
    await w.flush();
    const rs = await rows();
    expect(rs.filter((r) => r.client_addr !== "*")).toHaveLength(10);
    expect(rs.filter((r) => r.outcome === "refused" && r.client_addr === "*")).toEqual([
      { key_public_id: "*", client_addr: "*", outcome: "refused", attempts: 490 },
      { key_public_id: "*", client_addr: "*", outcome: "refused", attempts: 1 },
    ]);
    expect(rs.filter((r) => r.outcome === "dropped")).toEqual([
      { key_public_id: "*", client_addr: "*", outcome: "dropped", attempts: 4 },
    ]);
    // every attempt is counted somewhere, in 13 rows
    expect(rs).toHaveLength(13);
    expect(total(rs)).toBe(505);
  });

  it("a failed write is given up and counted as lost; record() never throws", async () => {
    const broken = new (await import("pg")).default.Pool({
      connectionString: "postgres://nobody@127.0.0.1:1/none",
      connectionTimeoutMillis: 500,
    });
    const w = createAuthLogWriter({ pool: broken, log: silentLogger(), flushIntervalMs: 60_000 });
    w.record(attempt());
    w.record(attempt());
    await w.flush();
    expect(w.stats()).toMatchObject({ recorded: 2, lost: 2, pending: 0 });
    await broken.end();
  });
});

describe("auth log retention service", () => {
  it("prunes rows older than the retention at start and writes the buffer when stopped", async () => {
    await db.pool.query("delete from api_key_auth_log");
    const old = new Date(Date.now() - 31 * 86_400_000);
    const recent = new Date(Date.now() - 29 * 86_400_000);
    for (const [at, addr] of [
      [old, "1.1.1.1"],
      [recent, "2.2.2.2"],
    ] as const) {
      await db.pool.query(
        `insert into api_key_auth_log (bucket_start, first_seen_at, last_seen_at, key_public_id,
           method, route, right_needed, outcome, status, reason, client_addr, attempts)
         values ($1, $1, $1, 'none', 'GET', '/x', 'admin', 'refused', 401, 'r', $2, 1)`,
        [at, addr],
      );
    }
    const writer = createAuthLogWriter({
      pool: db.pool,
      log: silentLogger(),
      flushIntervalMs: 60_000,
    });
    const svc = createAuthLogService({
      pool: db.pool,
      writer,
      log: silentLogger(),
      retentionDays: 30,
    });
    const ctl = new AbortController();
    const run = svc.run(ctl.signal);
    for (let i = 0; i < 100; i++) {
      if (!(await rows()).some((r) => r.client_addr === "1.1.1.1")) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    writer.record(attempt({ clientAddr: "3.3.3.3" }));
    ctl.abort();
    await run;
    expect((await rows()).map((r) => r.client_addr)).toEqual(["2.2.2.2", "3.3.3.3"]);
    // after stop the writer takes nothing more in (HTTP stopped before it)
    writer.record(attempt());
    expect(writer.stats()).toMatchObject({ dropped: 1, pending: 0 });
  });
});
