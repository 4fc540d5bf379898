import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { ServiceError } from "../errors/service-error.js";
import type { Logger } from "../lifecycle/logger.js";
import { inClientTransaction } from "./transaction.js";

/** Name of the table that records applied migrations. */
export const MIGRATIONS_TABLE = "athena_ts_schema_migrations";
/** Advisory lock key (hash of "athena-typesense-sync:migrate"), held while migrating. */
export const MIGRATION_LOCK_KEY = 7_310_551_922_014_402n;

const FILE_RE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

export interface MigrationFile {
  version: number;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  pool: pg.Pool;
  /** Folder with NNN_name.sql files. */
  dir: string;
  log: Logger;
}

export interface MigrateResult {
  applied: MigrationFile[];
  alreadyApplied: number;
}

export class MigrationError extends ServiceError {
  override readonly name = "MigrationError";
  constructor(message: string) {
    super("MIGRATION_FAILED", message);
  }
}

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const out: MigrationFile[] = [];
  for (const file of names) {
    const m = FILE_RE.exec(file);
    if (!m) throw new MigrationError(`migration file ${file} is not named NNN_name.sql`);
    const sql = await readFile(join(dir, file), "utf8");
    const version = Number(m[1]);
    if (out.some((o) => o.version === version)) {
      throw new MigrationError(`two migration files share version ${m[1]} (${file})`);
    }
    out.push({
      version,
      name: m[2]!,
      file,
      sql,
      checksum: createHash("sha256").update(sql).digest("hex"),
    });
  }
  return out;
}

/**
 * Applies pending migrations in version order, each in its own transaction.
 *
 * Safety:
 * - a session-level advisory lock serialises concurrent migrators (two
 *   sidecars starting at once): the second waits, then sees everything applied;
 * - an applied file whose checksum changed stops everything before any new
 *   migration runs (the database no longer matches the code);
 * - a failing migration rolls back alone and is not recorded.
 */
export async function migrate(opts: MigrateOptions): Promise<MigrateResult> {
  const files = await readMigrations(opts.dir);
  const client = await opts.pool.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    try {
      await client.query(`create table if not exists ${MIGRATIONS_TABLE} (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`);
      const applied = await client.query<{ version: number; name: string; checksum: string }>(
        `select version, name, checksum from ${MIGRATIONS_TABLE} order by version`,
      );
      const byVersion = new Map(files.map((f) => [f.version, f]));
      for (const row of applied.rows) {
        const f = byVersion.get(row.version);
        if (!f) {
          throw new MigrationError(
            `migration ${String(row.version).padStart(3, "0")}_${row.name} is applied in the database but its file is missing`,
          );
        }
        if (f.checksum !== row.checksum) {
          throw new MigrationError(
            `migration ${f.file} was changed after it was applied (checksum ${row.checksum.slice(0, 12)} in the database, ${f.checksum.slice(0, 12)} on disk); add a new migration instead`,
          );
        }
      }
      const done = new Set(applied.rows.map((r) => r.version));
      const result: MigrateResult = { applied: [], alreadyApplied: done.size };
      for (const f of files) {
        if (done.has(f.version)) continue;
        // the migration and its record commit together: a failed one leaves no trace
        try {
          await inClientTransaction(client, async (tx) => {
            await tx.query(f.sql);
            await tx.query(
              `insert into ${MIGRATIONS_TABLE} (version, name, checksum) values ($1, $2, $3)`,
              [f.version, f.name, f.checksum],
            );
          });
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new MigrationError(`migration ${f.file} failed: ${msg}`);
        }
        opts.log.info({ component: "migrate", migration: f.file }, "migration applied");
        result.applied.push(f);
      }
      return result;
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    client.release();
  }
}

/** Pending migrations (files not yet recorded), for /ready. Missing table = all pending. */
export async function pendingMigrations(pool: pg.Pool, dir: string): Promise<string[]> {
  const files = await readMigrations(dir);
  const exists = await pool.query<{ t: string | null }>("select to_regclass($1) as t", [
    MIGRATIONS_TABLE,
  ]);
  if (!exists.rows[0]?.t) return files.map((f) => f.file);
  const applied = await pool.query<{ version: number }>(`select version from ${MIGRATIONS_TABLE}`);
  const done = new Set(applied.rows.map((r) => r.version));
  return files.filter((f) => !done.has(f.version)).map((f) => f.file);
}
