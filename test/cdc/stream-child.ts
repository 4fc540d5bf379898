// A child process that runs the CDC supervisor (leadership + one stream) for
// crash tests: the parent SIGKILLs it at random moments and starts it again.
// Usage: node --import tsx test/cdc/stream-child.ts '<json ChildConfig>'
import { createCdcSupervisor } from "../../src/cdc/supervisor.js";
import { createPool } from "../../src/db/index.js";
import { createLogger } from "../../src/lifecycle/logger.js";
import { createTypesenseBackend } from "../../src/typesense/index.js";

export interface ChildConfig {
  controlUrl: string;
  sourceUrl: string;
  client: string;
  typesenseUrl: string;
  apiKey: string;
  instanceId: string;
  slotPrefix: string;
  flushMaxDocs?: number;
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as ChildConfig;
const log = createLogger({ level: "info" });
const control = createPool({ url: cfg.controlUrl, name: "control", log, max: 4 });
const source = createPool({ url: cfg.sourceUrl, name: cfg.client, log, max: 4 });
const backend = createTypesenseBackend({
  nodes: [cfg.typesenseUrl],
  apiKey: cfg.apiKey,
  timeoutMs: 5000,
});
const ctl = new AbortController();
process.on("SIGTERM", () => ctl.abort());

const supervisor = createCdcSupervisor({
  control,
  pools: {
    source: () => source,
    sourceUrl: () => cfg.sourceUrl,
    sourceNames: () => [cfg.client],
  },
  cdc: {
    enabled: true,
    plugin: "pgoutput",
    slot_prefix: cfg.slotPrefix,
    flush_max_docs: cfg.flushMaxDocs ?? 200,
    flush_interval_ms: 20,
    heartbeat_ms: 500,
    park_after_ms: 60_000,
    park_probe_ms: 5000,
  },
  backendFor: async () => backend,
  log,
  instanceId: cfg.instanceId,
  pollMs: 200,
  leaderPollMs: 100,
  streamOptions: {
    jobsPollMs: 500,
    statsIntervalMs: 200,
    keepaliveMs: 1000,
    backoff: { baseMs: 20, maxMs: 200 },
    // the parent checks equality itself; a resync run would need the engine
    requestResync: async () => {},
  },
});

await supervisor.run(ctl.signal);
await Promise.allSettled([control.end(), source.end(), backend.close()]);
process.stdout.write("child stopped cleanly\n");
