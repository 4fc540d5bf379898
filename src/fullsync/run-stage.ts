import type { RunStage } from "../db/repositories/runs.js";

/**
 * The run-stage machine (typesense_sync_runs.stage) as a pure function.
 *
 *                           ┌─manifest (rebuild)──┐
 *                           ▼                     │
 *   queued ──manifest──> manifest ──windows──> windows ──sweep──> orphan_sweep
 *     │                     │                     │                    │
 *     │                     └──────────sweep──────┼──(empty manifest)──┘
 *     │                                           │
 *     └──── fail (saga on, write failed) ─────────┴──> rollback ──finish──> finished
 *                                                                    ▲
 *   any open stage ──finish──────────────────────────────────────────┘
 *
 * A crash resumes a run in the stage it was in, so every step is also allowed
 * from its own target (a resumed `windows` enters `windows` again, a resumed
 * `orphan_sweep` sweeps again). A resumed run whose manifest already exists
 * skips `manifest` and may go straight on from `queued`. The windows start
 * while the manifest's first chunk is still being built, so a run killed
 * before that chunk committed resumes in `windows` with no manifest: its
 * fresh build enters `manifest` again. `finished` is final: no event leaves
 * it (finishRun's status guard makes that true in the table).
 *
 * Every stage write of the engine goes through `next`: the manifest's fresh
 * build (openRunManifest's enterStage), the windows and the sweep
 * (attempt-env.ts enterStage), the rollback (rollback.ts beginRollback) and
 * the finish (engine.ts finish). The stage it returns is what the attempt's
 * state (AttemptState.stage) holds next.
 */
export type RunStageEvent =
  /** openRunManifest starts a fresh manifest (manifest.ts recordEstimate writes the stage). */
  | "manifest"
  /** runWindows has windows to run from the checkpoint (windows-loop.ts). */
  | "windows"
  /** the manifest is done and the collection was not empty at start (orphan-sweep.ts). */
  | "sweep"
  /** the run failed with saga records to undo (rollback.ts beginRollback writes it). */
  | "fail"
  /** finishRun (runs.ts) closes the run, succeeded or failed. */
  | "finish";

const FROM: Record<RunStageEvent, readonly RunStage[]> = {
  manifest: ["queued", "manifest", "windows"],
  windows: ["queued", "manifest", "windows"],
  sweep: ["queued", "manifest", "windows", "orphan_sweep"],
  fail: ["queued", "manifest", "windows", "orphan_sweep", "rollback"],
  finish: ["queued", "manifest", "windows", "orphan_sweep", "rollback"],
};

const TO: Record<RunStageEvent, RunStage> = {
  manifest: "manifest",
  windows: "windows",
  sweep: "orphan_sweep",
  fail: "rollback",
  finish: "finished",
};

export class InvalidStageTransition extends Error {
  constructor(
    readonly stage: RunStage,
    readonly event: RunStageEvent,
  ) {
    super(`run stage ${stage} has no transition on ${event}`);
    this.name = "InvalidStageTransition";
  }
}

/** The stage after `event` in `stage`; throws InvalidStageTransition when the diagram has no such edge. */
export function next(stage: RunStage, event: RunStageEvent): RunStage {
  if (!FROM[event].includes(stage)) throw new InvalidStageTransition(stage, event);
  return TO[event];
}
