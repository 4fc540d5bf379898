import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CdcSetupError } from "../../src/cdc/errors.js";
import { setupStream } from "../../src/cdc/setup.js";
import {
  type DebianCluster,
  ensureWal2jsonInstalled,
  startDebianCluster,
} from "../support/debian-postgres.js";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";

/**
 * A source whose wal_level is not logical (its own throwaway Debian PG 15
 * cluster with wal_level=replica: the shared test server must stay logical).
 * CDC setup must refuse with an error that names the setting and the fix.
 */
const control = useTestDatabase();

describe("CDC setup on a source with wal_level = replica", () => {
  let cluster: DebianCluster;
  let source: pg.Pool;

  beforeAll(async () => {
    ensureWal2jsonInstalled(); // the Debian binaries
    cluster = await startDebianCluster({ wal_level: "replica" });
    source = new pg.Pool({ connectionString: cluster.urlFor("postgres"), max: 2 });
  }, 180_000);
  afterAll(async () => {
    await source?.end();
    await cluster?.stop();
  });

  it("names wal_level, its current value and how to change it, and creates no slot", async () => {
    const err = await setupStream({
      source,
      control: control.pool,
      clientName: "replica_only",
      slotName: "wal_level_test",
      publicationName: "wal_level_test",
      plugin: "pgoutput",
      jobs: [],
      log: silentLogger(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CdcSetupError);
    const message = (err as Error).message;
    expect(message).toContain('wal_level is "replica"');
    expect(message).toContain("ALTER SYSTEM SET wal_level = logical");
    const slots = await source.query("select slot_name from pg_replication_slots");
    expect(slots.rows).toEqual([]);
  });
});
