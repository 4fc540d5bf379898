import type { Db } from "../transaction.js";
import type { RunStage } from "./runs.js";

/*
 * The rollback columns of typesense_sync_runs (saga compensation of a run,
 * fullsync/rollback.ts): entering the stage, the counters per batch, the
 * outcome. The engine decides when (and the stage, via its run-stage machine);
 * these only write.
 */

/** How a run's saga rollback ended (fullsync/ re-exports it). */
export interface RollbackOutcome {
  status: "succeeded" | "failed";
  restored: number;
  deleted: number;
  error: string | null;
}

/**
 * Enters the rollback stage (idempotent: a resumed rollback keeps its counters
 * and its first cause). `stage` is what the run-stage machine gives for "fail".
 */
export async function beginRollback(
  db: Db,
  runId: string,
  stage: RunStage,
  cause: string,
): Promise<void> {
  await db.query(
    `update typesense_sync_runs
        set stage = $3, rollback_attempted = true, rollback_status = 'running',
            error_message = coalesce(error_message, $2), stage_message = 'rolling back the run',
            updated_at = now()
      where id = $1`,
    [runId, cause, stage],
  );
}

/** The rollback counters so far (a resumed rollback goes on from them). */
export async function readRollbackCounts(
  db: Db,
  runId: string,
): Promise<{ restored: number; deleted: number }> {
  const counts = await db.query<{ r: string; d: string }>(
    "select rollback_restored_count r, rollback_deleted_count d from typesense_sync_runs where id = $1",
    [runId],
  );
  return { restored: Number(counts.rows[0]?.r ?? 0), deleted: Number(counts.rows[0]?.d ?? 0) };
}

export async function writeRollbackCounts(
  db: Db,
  runId: string,
  restored: number,
  deleted: number,
): Promise<void> {
  await db.query(
    `update typesense_sync_runs
        set rollback_restored_count = $2, rollback_deleted_count = $3, updated_at = now()
      where id = $1`,
    [runId, restored, deleted],
  );
}

export async function finishRollback(db: Db, runId: string, o: RollbackOutcome): Promise<void> {
  await db.query(
    `update typesense_sync_runs
        set rollback_status = $2, rollback_restored_count = $3, rollback_deleted_count = $4,
            rollback_error_message = $5, updated_at = now(),
            stage_message = case when $2 = 'succeeded' then 'rolled back' else 'rollback failed' end
      where id = $1`,
    [runId, o.status, o.restored, o.deleted, o.error],
  );
}
