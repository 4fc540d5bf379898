export {
  type CdcJob,
  cdcClientNames,
  loadCdcJobs,
  streamObjectName,
} from "../db/repositories/cdc-jobs.js";
export type { Checkpoint } from "./applier.js";
export {
  CdcError,
  CdcSetupError,
  DecodeError,
  SlotLostError,
  WatchdogError,
} from "./errors.js";
export type { ChangeEvent, RelationInfo, TextTuple } from "./events.js";
export { LEADER_LOCK_CLASS, leaderLockKey, runWhileLeader } from "./leader.js";
export { formatLsn, type Lsn, parseLsn } from "./lsn.js";
export {
  createReplicationSource,
  type ReplicationHandler,
  type ReplicationSource,
  type ReplicationSourceOptions,
} from "./replication-source.js";
export { identityProblem, type SetupResult, setupStream } from "./setup.js";
export { type CdcStreamMetrics, type CdcStreamOptions, createCdcStream } from "./stream.js";
export type { StreamStatus } from "./stream-store.js";
export {
  type CdcSupervisor,
  type CdcSupervisorOptions,
  createCdcSupervisor,
} from "./supervisor.js";
export type { CdcBackend, Rejection } from "./writer.js";
