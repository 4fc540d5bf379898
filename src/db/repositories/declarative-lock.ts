import type pg from "pg";

/**
 * Keys of the advisory lock that serialises `jobs apply` runs ("ATSD", then
 * 1): two applies interleaving would each plan against a state the other is
 * changing. Session-level, on a dedicated connection, so it ends with the
 * process if it dies.
 */
const DECLARATIVE_LOCK = [0x41545344, 1] as const;

/** Runs fn holding the apply lock; `ran: false` (fn not run) when another apply holds it. */
export async function withDeclarativeApplyLock<T>(
  pool: pg.Pool,
  fn: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  const conn = await pool.connect();
  let locked = false;
  try {
    const r = await conn.query<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", [
      ...DECLARATIVE_LOCK,
    ]);
    locked = r.rows[0]?.ok === true;
    if (!locked) return { ran: false };
    return { ran: true, value: await fn() };
  } finally {
    if (locked) {
      await conn.query("select pg_advisory_unlock($1, $2)", [...DECLARATIVE_LOCK]).then(
        () => conn.release(),
        (e: unknown) => conn.release(e instanceof Error ? e : true),
      );
    } else conn.release();
  }
}
