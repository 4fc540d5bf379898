import { randomBytes } from "node:crypto";
import { createEmulatorService, type NullSinkOption } from "../emulator/index.js";
import { createLogger, runServices, signalOnTermination } from "../lifecycle/index.js";

export interface EmulatorCommandOptions {
  port: number;
  host: string;
  /** Key clients must send; a random one is generated (and printed) when absent. */
  apiKey: string | undefined;
  /** false, or the value of `--null-sink[=fast|validate]` ("fast" when given bare). */
  nullSink: false | string;
  logLevel: string;
  exit: (code: number) => void;
}

/** `typesense-emulator`: the embedded Typesense-compatible server on its own. */
export async function runEmulatorCommand(opts: EmulatorCommandOptions): Promise<number> {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    process.stderr.write(`--port must be an integer between 0 and 65535\n`);
    return 2;
  }
  const sink = opts.nullSink;
  if (sink !== false && sink !== "fast" && sink !== "validate") {
    process.stderr.write(`--null-sink must be fast or validate (got "${sink}")\n`);
    return 2;
  }
  const nullSink: NullSinkOption = sink;
  const log = createLogger({ level: opts.logLevel });
  const generated = opts.apiKey === undefined;
  const apiKey = opts.apiKey ?? randomBytes(16).toString("hex");
  const service = createEmulatorService({
    apiKey,
    host: opts.host,
    port: opts.port,
    nullSink,
    log,
    onListening: (h) => {
      log.info(
        { component: "typesense-emulator", url: h.url, nullSink },
        "typesense emulator listening",
      );
      // The key is printed only when we generated it: the user has no other way to learn it.
      if (generated) process.stdout.write(`api key: ${apiKey}\n`);
    },
  });
  const signal = signalOnTermination(log, opts.exit);
  const { failed } = await runServices([service], { log, signal, drainTimeoutMs: 5000 });
  return failed ? 1 : 0;
}
