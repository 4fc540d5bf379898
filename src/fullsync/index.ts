export {
  claimLease,
  keepLease,
  type Lease,
  LeaseLostError,
  releaseLease,
  renewLease,
} from "../db/repositories/lease.js";
export { readManifestWindow } from "../db/repositories/manifest.js";
export {
  buildManifest,
  type ManifestProgress,
  startManifestBuild,
} from "../db/repositories/manifest-progress.js";
export type { JobRow, RunCounters, RunRow, RunStage } from "../db/repositories/runs.js";
export type {
  AttemptEnv,
  AttemptState,
  CollectionEnv,
  SyncBackend,
  WindowSummary,
} from "./context.js";
export {
  createFullSyncEngine,
  type FullSyncEngine,
  type FullSyncEngineOptions,
  RunFailure,
  type RunJobOptions,
  type RunResult,
} from "./engine.js";
export {
  createRebuildDropService,
  dropKeptVersions,
  sweepOrphanVersions,
} from "./rebuild-drop.js";
export type { RebuildPause, RebuildPausePoint } from "./rebuild-stage.js";
export { RetriesExhaustedError, withImportRetry } from "./retry.js";
export type { RollbackOutcome } from "./rollback.js";
