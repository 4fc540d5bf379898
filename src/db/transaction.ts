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
 * any throw. The ONE transaction helper of the project: no module writes its
 * own BEGIN/COMMIT (except the manifest build, whose transaction spans a COPY
 * stream opened and closed in separate steps).
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
