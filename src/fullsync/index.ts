export type { RunContext, SyncBackend } from "./context.js";
export {
  createFullSyncEngine,
  type FullSyncEngine,
  type FullSyncEngineOptions,
  RunFailure,
  type RunJobOptions,
  type RunResult,
} from "./engine.js";
export {
  claimLease,
  keepLease,
  type Lease,
  LeaseLostError,
  releaseLease,
  renewLease,
} from "./lease.js";
export { readManifestWindow } from "./manifest.js";
export {
  buildManifest,
  type ManifestProgress,
  startManifestBuild,
} from "./manifest-progress.js";
export { RetriesExhaustedError, withImportRetry } from "./retry.js";
export type { RollbackOutcome } from "./rollback.js";
export type { JobRow, RunCounters, RunRow, RunStage } from "./runs.js";
export type { WindowSummary } from "./window.js";
