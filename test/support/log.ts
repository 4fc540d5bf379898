import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/lifecycle/logger.js";

/** A logger that discards everything (tests that do not inspect logs). */
export function silentLogger(): Logger {
  return createLogger({ level: "silent" });
}

/** A logger whose JSON lines are kept in memory, for assertions on log output. */
export function capturingLogger(level = "debug"): { log: Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level, destination: dest });
  return { log, lines: () => chunks.join("").split("\n").filter(Boolean) };
}
