import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import {
  type DebianCluster,
  ensureWal2jsonInstalled,
  startDebianCluster,
} from "../support/debian-postgres.js";
import { urlForDatabase } from "../support/pg.js";

/**
 * A fresh database on a Postgres that has the wal2json plugin, for the calling
 * test file: WAL2JSON_DATABASE_URL (a superuser URL of such a server) when set,
 * else a throwaway Debian PostgreSQL 15 cluster (installed by
 * .ci/install-postgres-wal2json.sh when missing). Never skipped.
 */
export function useWal2jsonSource(): { readonly url: string; readonly cluster?: DebianCluster } {
  const state: { url?: string; cluster?: DebianCluster; admin?: string; name?: string } = {};
  beforeAll(async () => {
    // Tests choose their server here (test code may read env).
    const external = process.env.WAL2JSON_DATABASE_URL;
    if (external) {
      state.admin = external;
    } else {
      ensureWal2jsonInstalled();
      state.cluster = await startDebianCluster();
      state.admin = state.cluster.adminUrl;
    }
    state.name = `w2j_${randomBytes(5).toString("hex")}`;
    await adminQuery(state.admin, `create database ${state.name}`);
    state.url = urlForDatabase(state.admin, state.name);
  }, 300_000);
  afterAll(async () => {
    if (state.cluster) {
      await state.cluster.stop();
      return;
    }
    if (state.admin && state.name) {
      await adminQuery(
        state.admin,
        `select pg_terminate_backend(active_pid) from pg_replication_slots
          where database = '${state.name}' and active_pid is not null`,
      );
      await adminQuery(
        state.admin,
        `select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = '${state.name}'`,
      ).catch(() => {});
      await adminQuery(state.admin, `drop database if exists ${state.name} with (force)`);
    }
  });
  return {
    get url() {
      if (!state.url) throw new Error("useWal2jsonSource: url used outside a test");
      return state.url;
    },
    get cluster() {
      return state.cluster;
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
