import type pg from "pg";

/** A pool or a client inside a transaction: repository functions accept both. */
export type Db = pg.Pool | pg.PoolClient;

/** Runs fn in one transaction on a dedicated client; rolls back on any throw. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (db: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const out = await fn(client);
    await client.query("commit");
    return out;
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
