import type pg from "pg";
import {
  type DeadLetterRecord,
  discardOpenDeadLetter,
  selectDeadLetter,
  selectDeadLetters,
} from "../db/repositories/dead-letters.js";
import type { Db } from "../db/transaction.js";
import type { ClientScope } from "./client-scope.js";
import { ConflictError, isUuid, NotFoundError } from "./errors.js";

export type { DeadLetterRecord } from "../db/repositories/dead-letters.js";
export { recordDeadLetterFailure, resolveDeadLetter } from "../db/repositories/dead-letters.js";

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
  // a job id that is no uuid names no job: an empty list, not a cast error
  if (f.jobId !== undefined && !isUuid(f.jobId)) return [];
  return selectDeadLetters(pool, {
    scope: f.scope,
    jobId: f.jobId ?? null,
    status: f.status ?? null,
    limit: f.limit,
    offset: f.offset,
  });
}

/** The letter, or a 404 for an unknown id, a non-uuid one or one outside the scope alike. */
export async function getDeadLetter(
  db: Db,
  id: string,
  scope: ClientScope,
  lock = false,
): Promise<DeadLetterRecord> {
  if (!isUuid(id)) throw new NotFoundError(`dead letter ${id} not found`);
  const letter = await selectDeadLetter(db, id, scope, lock);
  if (!letter) throw new NotFoundError(`dead letter ${id} not found`);
  return letter;
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
  const discarded = await discardOpenDeadLetter(pool, id, scope);
  if (discarded) return discarded;
  // nothing matched: unknown or out of scope (404), or no longer open (409)
  assertOpen(await getDeadLetter(pool, id, scope), "discarded");
  throw new NotFoundError(`dead letter ${id} not found`);
}
