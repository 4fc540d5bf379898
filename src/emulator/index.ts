/**
 * The embedded Typesense-compatible server (DESIGN §9, reference/typesense-api.md).
 *
 *   const ts = await startEmulator({ apiKey: "k" });   // port 0 = random
 *   ts.faults.failNext({ method: "POST", path: "/collections/*\/documents/import",
 *                        status: 503, body: FAULT_BODIES.notReady });
 *   await ts.close();
 */
export type { EmulatorStats } from "./documents.js";
export {
  type DropSpec,
  FAULT_BODIES,
  type FailSpec,
  type FaultInjector,
  type FaultMatch,
  type FaultRuleInfo,
  type LatencySpec,
  type PathPattern,
} from "./faults.js";
export {
  type EmulatorHandle,
  type EmulatorOptions,
  type EmulatorStatsSnapshot,
  type NullSinkOption,
  startEmulator,
} from "./server.js";
export { createEmulatorService, type EmulatorServiceOptions } from "./service.js";
