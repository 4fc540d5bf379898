import { finishRebuildRun, setRebuildStage } from "../db/repositories/runs.js";
import type { AttemptStart } from "./attempt-env.js";
import type { FullSyncEngineOptions, RunResult } from "./engine-types.js";
import { nextRebuildStage, type RebuildStage } from "./rebuild-stage.js";

/** Why a rebuild run ends failed while the engine has no rebuild steps yet. */
export const REBUILD_NOT_IMPLEMENTED =
  "rebuild runs are not implemented yet: nothing was created, the live collection is unchanged";

/**
 * A run with trigger `rebuild` (docs/full-sync.md "Rebuilds"). This first
 * slice has the trigger and the machine but not the steps (create, build,
 * verify, swap need the alias client): the run must NOT fall through to a
 * plain full sync of the live collection under a `rebuild` label. So it
 * fails honestly through the machine's own edges, create -fail-> discard
 * -discarded-> failed, before anything is written to Typesense; the discard
 * has nothing to drop (no version was created), and v(N) keeps serving.
 *
 * Ordering: the stage `discard` is committed before the run is closed, so a
 * crash between the two resumes in discard, which is idempotent.
 */
export async function runRebuild(opts: FullSyncEngineOptions, a: AttemptStart): Promise<RunResult> {
  const { control } = opts;
  const stage = (a.run.rebuildStage ?? "create") as RebuildStage;
  const discard = stage === "discard" ? stage : nextRebuildStage(stage, "fail");
  await setRebuildStage(control, a.run.id, discard);
  const failed = nextRebuildStage(discard, "discarded");
  const client = await control.connect();
  let closed: boolean;
  try {
    closed = await finishRebuildRun(client, {
      runId: a.run.id,
      jobId: a.job.id,
      leaseToken: a.lease.token,
      status: "failed",
      error: REBUILD_NOT_IMPLEMENTED,
      rebuildStage: failed,
    });
  } finally {
    client.release();
  }
  const status = closed ? "failed" : "interrupted";
  if (closed) a.log.error({ error: REBUILD_NOT_IMPLEMENTED }, "rebuild run failed");
  return {
    runId: a.run.id,
    jobId: a.job.id,
    status,
    resumed: a.resumed,
    counters: { ...a.run.counters },
    error: closed ? REBUILD_NOT_IMPLEMENTED : null,
    rollback: null,
  };
}
