import { describe, expect, it } from "vitest";
import { cdcReadiness } from "../../src/control/cdc-readiness.js";
import { insertJob, insertProfile } from "../cdc/helpers.js";
import { useTestDatabase } from "../support/pg.js";

const db = useTestDatabase();

/** A stream row in a given state, its status changed `statusAgeS` seconds ago. */
async function stream(
  client: string,
  s: { status: string; statusAgeS: number; heartbeatAgeS: number | null; lsn?: string | null },
) {
  const profileId = await insertProfile(db.pool, "http://127.0.0.1:1", "k".repeat(16));
  await insertJob(db.pool, { profileId, client, table: "t", collection: `c_${client}` });
  await db.pool.query(
    `insert into typesense_cdc_streams (source_client_name, slot_name, publication_name, status,
       confirmed_lsn, leader_heartbeat_at)
     values ($1, $1, $1, 'starting', $2::pg_lsn, now() - make_interval(secs => $3))`,
    [client, s.lsn === undefined ? "0/16B3748" : s.lsn, s.heartbeatAgeS ?? 3600],
  );
  // the status change itself moves status_changed_at (trigger, sql/009); then age it
  await db.pool.query(
    "update typesense_cdc_streams set status = $2 where source_client_name = $1",
    [client, s.status],
  );
  await db.pool.query(
    `update typesense_cdc_streams set status_changed_at = now() - make_interval(secs => $2)
      where source_client_name = $1`,
    [client, s.statusAgeS],
  );
}

describe("CDC readiness (/ready)", () => {
  it("is not ready while a stream has not attached or has been in error/backoff longer than the threshold", async () => {
    const profileId = await insertProfile(db.pool, "http://127.0.0.1:1", "k".repeat(16));
    await insertJob(db.pool, { profileId, client: "none_yet", table: "t", collection: "c_none" });
    await stream("fresh", { status: "streaming", statusAgeS: 600, heartbeatAgeS: 1 });
    await stream("dead_leader", { status: "streaming", statusAgeS: 600, heartbeatAgeS: 60 });
    await stream("first_setup", { status: "starting", statusAgeS: 1, heartbeatAgeS: 1, lsn: null });
    await stream("short_backoff", { status: "backoff", statusAgeS: 10, heartbeatAgeS: 1 });
    await stream("long_backoff", { status: "backoff", statusAgeS: 120, heartbeatAgeS: 1 });
    await stream("long_error", { status: "error", statusAgeS: 120, heartbeatAgeS: 100 });
    await stream("stopped", { status: "stopped", statusAgeS: 1, heartbeatAgeS: 100 });
    const r = await cdcReadiness(db.pool, {
      clients: [
        "none_yet",
        "fresh",
        "dead_leader",
        "first_setup",
        "short_backoff",
        "long_backoff",
        "long_error",
        "stopped",
        "not_configured_has_no_jobs",
      ],
      maxUnhealthyMs: 60_000,
    });
    expect(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.ready]))).toEqual({
      dead_leader: false,
      first_setup: false,
      fresh: true,
      long_backoff: false,
      long_error: false,
      none_yet: false,
      short_backoff: true,
      stopped: false,
    });
    expect(r.long_backoff?.state).toMatch(/^backoff for 120 s/);
    // clients outside postgres_clients are not judged
    expect(
      Object.keys(await cdcReadiness(db.pool, { clients: ["fresh"], maxUnhealthyMs: 1 })),
    ).toEqual(["fresh"]);
  });

  it("status_changed_at moves only when the status changes", async () => {
    await stream("moves", { status: "backoff", statusAgeS: 300, heartbeatAgeS: 1 });
    const age = async () =>
      (
        await db.pool.query<{ s: number }>(
          `select extract(epoch from now() - status_changed_at)::float8 as s
             from typesense_cdc_streams where source_client_name = 'moves'`,
        )
      ).rows[0]!.s;
    await db.pool.query(
      "update typesense_cdc_streams set status = 'backoff', lag_ms = 5 where source_client_name = 'moves'",
    );
    expect(await age()).toBeGreaterThan(299);
    await db.pool.query(
      "update typesense_cdc_streams set status = 'streaming' where source_client_name = 'moves'",
    );
    expect(await age()).toBeLessThan(5);
  });
});
