import type pg from "pg";

/** A pool or a client inside a transaction: repository functions accept both. */
export type Db = pg.Pool | pg.PoolClient;

/**
 * Runs fn in one transaction on a client the caller already holds; rolls back
 * on any throw (and rethrows). The client is not released: the caller owns it.
 */
export async function inClientTransaction<T>(
  client: pg.PoolClient,
  fn: (db: pg.PoolClient) => Promise<T>,
): Promise<T> {
  await client.query("begin");
  try {
    const out = await fn(client);
    await client.query("commit");
    return out;
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  }
}

/**
 * Runs fn in one transaction on a dedicated client of the pool; rolls back on
 * any throw. This file holds the project's transaction helpers (this one and
 * inReadOnlyTransaction below): no module writes its own BEGIN/COMMIT (except
 * the manifest build, whose transaction spans a COPY stream opened and closed
 * in separate steps; test/architecture/sql-placement.test.ts checks it).
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (db: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    return await inClientTransaction(client, fn);
  } finally {
    client.release();
  }
}

/**
 * Runs fn in a READ ONLY transaction with a local statement_timeout that is
 * always rolled back: for reading and describing operator-written SQL on a
 * source database (a document spec's catalog checks, the job preview). What
 * it runs cannot write, cannot run past the timeout, and leaves nothing
 * committed. A client whose rollback failed is destroyed, not pooled again.
 */
export async function inReadOnlyTransaction<T>(
  pool: pg.Pool,
  statementTimeoutMs: number,
  fn: (db: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("begin read only");
    await client.query(
      `set local statement_timeout = ${Math.max(1, Math.floor(statementTimeoutMs))}`,
    );
    return await fn(client);
  } catch (e) {
    broken = true;
    throw e;
  } finally {
    await client.query("rollback").catch(() => {
      broken = true;
    });
    client.release(broken ? true : undefined);
  }
}
