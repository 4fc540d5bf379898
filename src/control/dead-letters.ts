import type pg from "pg";
import type { Db } from "../db/transaction.js";
import { type ClientScope, jobInScope } from "./client-scope.js";
import { ConflictError, isUuid, NotFoundError } from "./errors.js";

export type DeadLetterRecord = {
  id: string;
  job_id: string;
  run_id: string | null;
  origin: "full_sync" | "cdc";
  doc_id: string | null;
  operation: "upsert" | "emplace" | "update" | "delete";
  payload: unknown;
  error_code: number | null;
  error_message: string;
  attempts: number;
  status: "open" | "resolved" | "discarded";
  first_failed_at: Date;
  last_failed_at: Date;
  resolved_at: Date | null;
};

export interface DeadLetterFilter {
  scope: ClientScope;
  jobId?: string | undefined;
  status?: DeadLetterRecord["status"] | undefined;
  limit: number;
  offset: number;
}

export async function listDeadLetters(
  pool: pg.Pool,
  f: DeadLetterFilter,
): Promise<DeadLetterRecord[]> {
  if (f.jobId !== undefined && !isUuid(f.jobId)) return [];
  const r = await pool.query<DeadLetterRecord>(
    `select * from typesense_dead_letters
      where ($1::uuid is null or job_id = $1) and ($2::text is null or status = $2)
        and ${jobInScope("job_id", 5)}
      order by last_failed_at desc, id limit $3 offset $4`,
    [f.jobId ?? null, f.status ?? null, f.limit, f.offset, f.scope],
  );
  return r.rows;
}

export async function getDeadLetter(
  db: Db,
  id: string,
  scope: ClientScope,
  lock = false,
): Promise<DeadLetterRecord> {
  if (!isUuid(id)) throw new NotFoundError(`dead letter ${id} not found`);
  const r = await db.query<DeadLetterRecord>(
    `select * from typesense_dead_letters
      where id = $1 and ${jobInScope("job_id", 2)}${lock ? " for update" : ""}`,
    [id, scope],
  );
  if (!r.rows[0]) throw new NotFoundError(`dead letter ${id} not found`);
  return r.rows[0];
}

/** Only open letters can be retried or discarded; anything else is a 409. */
export function assertOpen(letter: DeadLetterRecord, action: string): void {
  if (letter.status !== "open") {
    throw new ConflictError(
      `dead letter ${letter.id} is ${letter.status}; only open letters can be ${action}`,
    );
  }
}

export async function discardDeadLetter(
  pool: pg.Pool,
  id: string,
  scope: ClientScope,
): Promise<DeadLetterRecord> {
  if (!isUuid(id)) throw new NotFoundError(`dead letter ${id} not found`);
  const r = await pool.query<DeadLetterRecord>(
    `update typesense_dead_letters set status = 'discarded', resolved_at = now()
      where id = $1 and status = 'open' and ${jobInScope("job_id", 2)} returning *`,
    [id, scope],
  );
  if (r.rows[0]) return r.rows[0];
  assertOpen(await getDeadLetter(pool, id, scope), "discarded");
  throw new NotFoundError(`dead letter ${id} not found`);
}

/** Typesense accepted the re-sent payload. */
export async function resolveDeadLetter(db: Db, id: string): Promise<DeadLetterRecord> {
  const r = await db.query<DeadLetterRecord>(
    `update typesense_dead_letters set status = 'resolved', resolved_at = now()
      where id = $1 returning *`,
    [id],
  );
  return r.rows[0]!;
}

/** Typesense rejected it again: one more attempt on the same open letter. */
export async function recordDeadLetterFailure(
  db: Db,
  id: string,
  error: { code: number | null; message: string },
): Promise<DeadLetterRecord> {
  const r = await db.query<DeadLetterRecord>(
    `update typesense_dead_letters
        set attempts = attempts + 1, last_failed_at = now(), error_code = $2, error_message = $3
      where id = $1 returning *`,
    [id, error.code, error.message],
  );
  return r.rows[0]!;
}
