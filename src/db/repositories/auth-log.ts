import type pg from "pg";

/**
 * Repository of the auth attempt log (sql/006_auth_log.sql; control/auth-log.ts
 * re-exports it for the control layer). Rows are
 * aggregates; the buffered writer that fills them is control/auth-log-writer.ts.
 */

/** Attempts with equal fields within one bucket share one row. */
export interface AuthLogEntry {
  bucketStart: Date;
  firstSeenAt: Date;
  lastSeenAt: Date;
  /** An existing key's public id, "admin", "none" or "*"; an unknown id becomes "none" on write. */
  keyPublicId: string;
  method: string;
  route: string;
  rightNeeded: string;
  outcome: "refused" | "allowed" | "dropped";
  status: number;
  reason: string;
  clientAddr: string;
  attempts: number;
}

/** Key ids that are not public ids: kept as they are on write. */
export const SPECIAL_KEY_IDS = ["admin", "none", "*"] as const;

/** The entry fields in the order of the statement's $1..$12 arrays. */
const COLUMNS = [
  "bucketStart",
  "firstSeenAt",
  "lastSeenAt",
  "keyPublicId",
  "method",
  "route",
  "rightNeeded",
  "outcome",
  "status",
  "reason",
  "clientAddr",
  "attempts",
] as const satisfies readonly (keyof AuthLogEntry)[];

/**
 * Adds a batch of aggregates in ONE statement: rows that resolve to the same
 * unique tuple are summed first (an upsert may touch a row only once), then
 * merged into the existing row by ON CONFLICT. Safe with several instances
 * flushing at once: each upsert is atomic on the unique index, so counts add
 * up and nothing is lost or doubled.
 *
 * A claimed public id that names no existing key (api_keys, or a search key of
 * the gateway: api_search_keys) is stored as "none": random
 * ids from a flood would otherwise each make a row, and an id nobody holds
 * says nothing an operator can act on.
 */
export async function appendAuthLog(pool: pg.Pool, entries: AuthLogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await pool.query(
    `insert into api_key_auth_log as l
       (bucket_start, first_seen_at, last_seen_at, key_public_id, method, route,
        right_needed, outcome, status, reason, client_addr, attempts)
     select b, min(f), max(la), k, m, r, rn, o, s, re, ca, sum(n)
       from (select t.b, t.f, t.la, t.m, t.r, t.rn, t.o, t.s, t.re, t.ca, t.n,
                    case when t.k = any($13::text[])
                           or exists (select 1 from api_keys a where a.public_id = t.k)
                           or exists (select 1 from api_search_keys sk where sk.public_id = t.k)
                         then t.k else 'none' end as k
               from unnest($1::timestamptz[], $2::timestamptz[], $3::timestamptz[], $4::text[],
                           $5::text[], $6::text[], $7::text[], $8::text[], $9::int[],
                           $10::text[], $11::text[], $12::bigint[])
                    as t(b, f, la, k, m, r, rn, o, s, re, ca, n)) x
      group by b, k, m, r, rn, o, s, re, ca
     on conflict (bucket_start, key_public_id, method, route, right_needed, outcome, status,
                  reason, client_addr)
     do update set attempts = l.attempts + excluded.attempts,
                   first_seen_at = least(l.first_seen_at, excluded.first_seen_at),
                   last_seen_at = greatest(l.last_seen_at, excluded.last_seen_at)`,
    [...COLUMNS.map((k) => entries.map((e) => e[k])), [...SPECIAL_KEY_IDS]],
  );
}

export interface AuthLogRow {
  id: string;
  bucket_start: Date;
  first_seen_at: Date;
  last_seen_at: Date;
  key_public_id: string;
  method: string;
  route: string;
  right_needed: string;
  outcome: AuthLogEntry["outcome"];
  status: number;
  reason: string;
  client_addr: string;
  attempts: number;
}

export interface AuthLogFilter {
  outcome?: string | undefined;
  keyId?: string | undefined;
  /** rows whose last attempt is at or after this time */
  since?: Date | undefined;
  /** rows whose first attempt is before this time */
  until?: Date | undefined;
  /** return rows with an id below this one (the previous page's next_cursor) */
  before?: string | undefined;
  limit: number;
}

/** Newest rows first (id desc: a row is made when its bucket's first attempt is flushed). */
export async function listAuthLog(
  pool: pg.Pool,
  f: AuthLogFilter,
): Promise<{ rows: AuthLogRow[]; nextCursor: string | null }> {
  const r = await pool.query<AuthLogRow>(
    `select id::text, bucket_start, first_seen_at, last_seen_at, key_public_id, method, route,
            right_needed, outcome, status, reason, client_addr, attempts::int
       from api_key_auth_log
      where ($1::text is null or outcome = $1) and ($2::text is null or key_public_id = $2)
        and ($3::timestamptz is null or last_seen_at >= $3)
        and ($4::timestamptz is null or first_seen_at < $4)
        and ($5::bigint is null or id < $5)
      order by id desc limit $6`,
    [
      f.outcome ?? null,
      f.keyId ?? null,
      f.since ?? null,
      f.until ?? null,
      f.before ?? null,
      f.limit + 1,
    ],
  );
  const more = r.rows.length > f.limit;
  const rows = more ? r.rows.slice(0, f.limit) : r.rows;
  return { rows, nextCursor: more ? (rows.at(-1)?.id ?? null) : null };
}

/**
 * Deletes rows whose last attempt is older than `days`, `batch` rows per
 * statement so a large backlog never holds long locks; returns the count.
 */
export async function pruneAuthLog(
  pool: pg.Pool,
  days: number,
  opts: { batch?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const batch = opts.batch ?? 10_000;
  let total = 0;
  for (;;) {
    const r = await pool.query(
      `delete from api_key_auth_log where id in (
         select id from api_key_auth_log
          where last_seen_at < now() - make_interval(days => $1) limit $2)`,
      [days, batch],
    );
    total += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < batch || opts.signal?.aborted) return total;
  }
}
