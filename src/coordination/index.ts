/*
 * The protocol between full sync and CDC (DBLog, DESIGN section 5): the
 * watermark registry, the bracket a write of rows opens and closes around its
 * read (bracket.ts), the interruptions a bracketed run stops with, and the run
 * requests by which CDC (and the API, the CLI, the scheduler) ask full sync
 * for a run. fullsync/ and cdc/ both import this
 * module and never each other (test/architecture/import-graph.test.ts).
 */
export {
  type BracketScope,
  type ClosedBracket,
  closeBracket,
  openBracket,
  type Reread,
} from "./bracket.js";
export { StreamAttachedError, StreamStoppedError } from "./errors.js";
export {
  JobNotFoundError,
  type RequestedRun,
  RUN_REQUESTED_CHANNEL,
  RunConflictError,
  type RunTrigger,
  requestJoinResync,
  requestRun,
} from "./request-run.js";
export {
  type ChangeWatch,
  type CloseWindowOptions,
  createWatermarkRegistry,
  type DueWindow,
  HEARTBEAT_PREFIX,
  WATERMARK_PREFIX,
  type WatermarkCoordinator,
  type WatermarkRegistry,
  type WatermarkStreamHandle,
  type WatermarkWindow,
  type WindowOutcome,
  type WindowRejection,
} from "./watermarks.js";
