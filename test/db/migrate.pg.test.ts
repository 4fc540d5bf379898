import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MIGRATIONS_TABLE,
  MigrationError,
  migrate,
  pendingMigrations,
  readMigrations,
} from "../../src/db/migrate.js";
import { silentLogger } from "../support/log.js";
import { createDatabase, SQL_DIR } from "../support/pg.js";

const log = silentLogger();

async function freshPool(): Promise<{ pool: pg.Pool; url: string; drop: () => Promise<void> }> {
  const db = await createDatabase("mig");
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  return {
    pool,
    url: db.url,
    drop: async () => {
      await pool.end();
      await db.drop();
    },
  };
}

describe("migrate", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mig-"));
  });

  it("applies the shipped migrations, then a second run changes nothing", async () => {
    const { pool, drop } = await freshPool();
    cleanups.push(drop);
    const first = await migrate({ pool, dir: SQL_DIR, log });
    const files = await readMigrations(SQL_DIR);
    expect(first.applied.map((m) => m.file)).toEqual(files.map((f) => f.file));
    const snapshot = async () =>
      (
        await pool.query(
          `select version, checksum, applied_at from ${MIGRATIONS_TABLE} order by version`,
        )
      ).rows;
    const before = await snapshot();
    const tablesBefore = await pool.query(
      "select count(*)::int as n from pg_class where relnamespace = 'public'::regnamespace",
    );
    const second = await migrate({ pool, dir: SQL_DIR, log });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(files.length);
    expect(await snapshot()).toEqual(before);
    const tablesAfter = await pool.query(
      "select count(*)::int as n from pg_class where relnamespace = 'public'::regnamespace",
    );
    expect(tablesAfter.rows).toEqual(tablesBefore.rows);
    expect(await pendingMigrations(pool, SQL_DIR)).toEqual([]);
  });

  it("applies files in version order, each in its own transaction; a failing one rolls back alone", async () => {
    const d = mkdtempSync(join(dir, "order-"));
    writeFileSync(join(d, "002_second.sql"), "insert into log_t values (2);");
    writeFileSync(
      join(d, "001_first.sql"),
      "create table log_t (n int); insert into log_t values (1);",
    );
    writeFileSync(join(d, "003_broken.sql"), "insert into log_t values (3); select 1/0;");
    const { pool, drop } = await freshPool();
    cleanups.push(drop);
    expect(await pendingMigrations(pool, d)).toEqual([
      "001_first.sql",
      "002_second.sql",
      "003_broken.sql",
    ]);
    await expect(migrate({ pool, dir: d, log })).rejects.toThrow(
      /migration 003_broken.sql failed: division by zero/,
    );
    expect((await pool.query("select n from log_t order by n")).rows).toEqual([{ n: 1 }, { n: 2 }]);
    expect(
      (await pool.query(`select version from ${MIGRATIONS_TABLE} order by version`)).rows,
    ).toEqual([{ version: 1 }, { version: 2 }]);
  });

  it("refuses to run when an applied file changed, before applying anything new", async () => {
    const d = mkdtempSync(join(dir, "sum-"));
    writeFileSync(join(d, "001_a.sql"), "create table a (n int);");
    const { pool, drop } = await freshPool();
    cleanups.push(drop);
    await migrate({ pool, dir: d, log });
    writeFileSync(join(d, "001_a.sql"), "create table a (n bigint);");
    writeFileSync(join(d, "002_b.sql"), "create table b (n int);");
    const err = await migrate({ pool, dir: d, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(String((err as Error).message)).toMatch(/001_a.sql was changed after it was applied/);
    expect((await pool.query("select to_regclass('b') as t")).rows[0].t).toBeNull();
  });

  it("refuses when an applied migration's file is missing, and rejects badly named files", async () => {
    const d = mkdtempSync(join(dir, "missing-"));
    writeFileSync(join(d, "001_a.sql"), "select 1;");
    writeFileSync(join(d, "002_b.sql"), "select 1;");
    const { pool, drop } = await freshPool();
    cleanups.push(drop);
    await migrate({ pool, dir: d, log });
    const d2 = mkdtempSync(join(dir, "missing2-"));
    writeFileSync(join(d2, "001_a.sql"), "select 1;");
    await expect(migrate({ pool, dir: d2, log })).rejects.toThrow(
      /002_b is applied .* file is missing/,
    );
    const d3 = mkdtempSync(join(dir, "badname-"));
    writeFileSync(join(d3, "1_a.sql"), "select 1;");
    await expect(readMigrations(d3)).rejects.toThrow(/1_a.sql is not named NNN_name.sql/);
  });

  it("two processes migrating at once are safe (advisory lock): each file applied once", async () => {
    const d = mkdtempSync(join(dir, "race-"));
    cpSync(SQL_DIR, d, { recursive: true });
    // a slow migration widens the race window
    writeFileSync(join(d, "900_slow.sql"), "select pg_sleep(0.5); create table slow_t (n int);");
    const { pool, url, drop } = await freshPool();
    cleanups.push(drop);
    const pool2 = new pg.Pool({ connectionString: url, max: 2 });
    try {
      const [a, b] = await Promise.all([
        migrate({ pool, dir: d, log }),
        migrate({ pool: pool2, dir: d, log }),
      ]);
      const total = (await readMigrations(d)).length;
      // exactly one of them applied everything, the other found it done
      expect(a.applied.length + b.applied.length).toBe(total);
      expect([a.applied.length, b.applied.length].sort()).toEqual([0, total]);
      const n = await pool.query(`select count(*)::int as n from ${MIGRATIONS_TABLE}`);
      expect(n.rows[0].n).toBe(total);
    } finally {
      await pool2.end();
    }
  });
});
