import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { silentLogger } from "./log.js";

export const SQL_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "sql");

export interface TestDatabase {
  /** Connection URL of this file's own database. */
  readonly url: string;
  readonly name: string;
  /** A pool on this file's database, closed after the file. */
  readonly pool: pg.Pool;
  /** Superuser URL of the server (the `postgres` database). */
  readonly adminUrl: string;
}

export function adminUrl(): string {
  return inject("pgAdminUrl");
}

export function urlForDatabase(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates a fresh database on the test server; returns its URL and a dropper. */
export async function createDatabase(prefix = "t"): Promise<{
  name: string;
  url: string;
  drop: () => Promise<void>;
}> {
  const admin = adminUrl();
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
  return { name, url: urlForDatabase(admin, name), drop: () => dropDatabase(name) };
}

/** Drops the replication slots of a database, then the database itself. */
export async function dropDatabase(name: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    // Terminate walsenders holding our slots, then drop the slots: a leftover
    // slot would retain WAL for the rest of the run.
    await c.query(
      `select pg_terminate_backend(active_pid) from pg_replication_slots
        where database = $1 and active_pid is not null`,
      [name],
    );
    const slots = await c.query<{ slot_name: string }>(
      "select slot_name from pg_replication_slots where database = $1",
      [name],
    );
    for (const s of slots.rows) {
      for (let i = 0; i < 20; i++) {
        try {
          await c.query("select pg_drop_replication_slot($1)", [s.slot_name]);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    await c.query(`drop database if exists ${name} with (force)`);
  } finally {
    await c.end();
  }
}

/**
 * Gives the calling test file a fresh database for its whole run (created in
 * beforeAll, slots and database dropped in afterAll). With `migrate: true`
 * (default) the control schema from sql/ is applied.
 */
export function useTestDatabase(opts: { migrate?: boolean } = {}): TestDatabase {
  const state: { url?: string; name?: string; pool?: pg.Pool; drop?: () => Promise<void> } = {};
  beforeAll(async () => {
    const db = await createDatabase();
    state.url = db.url;
    state.name = db.name;
    state.drop = db.drop;
    state.pool = new pg.Pool({ connectionString: db.url, max: 5 });
    if (opts.migrate !== false) {
      await migrate({ pool: state.pool, dir: SQL_DIR, log: silentLogger() });
    }
  });
  afterAll(async () => {
    // pool.end() resolves once its clients are REMOVED, before each one's
    // connection has closed; the forced drop below then terminates those still
    // closing (57P01), and the pool re-emits that on itself: without a listener
    // it is an uncaught exception that fails the whole run. Expected here only.
    state.pool?.on("error", () => {});
    await state.pool?.end();
    await state.drop?.();
  });
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`useTestDatabase: ${what} used outside a test`);
    return v;
  };
  return {
    get url() {
      return need(state.url, "url");
    },
    get name() {
      return need(state.name, "name");
    },
    get pool() {
      return need(state.pool, "pool");
    },
    get adminUrl() {
      return adminUrl();
    },
  };
}
