import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ChildConfig } from "./fixtures/run-child.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "run-child.ts");

export interface ChildEvent {
  event: "window" | "rollback" | "chunk" | "done";
  [key: string]: unknown;
}

/** A full-sync run in a real child process (node + tsx), killable with SIGKILL. */
export interface SyncChild {
  /** The next event; rejects if the process exits first. */
  next(): Promise<ChildEvent>;
  /** Lets a stepping child go on past its last event. */
  go(): void;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  readonly stderr: () => string;
}

export function spawnSyncChild(cfg: ChildConfig): SyncChild {
  const proc: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", FIXTURE, JSON.stringify(cfg)],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let err = "";
  proc.stderr!.on("data", (d) => {
    err += String(d);
  });
  const queue: ChildEvent[] = [];
  const waiting: { resolve: (e: ChildEvent) => void; reject: (e: Error) => void }[] = [];
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    proc.on("exit", () => {
      exited = true;
      for (const w of waiting.splice(0)) w.reject(new Error(`child exited; stderr: ${err}`));
      resolve();
    });
  });
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    const ev = JSON.parse(line) as ChildEvent;
    const w = waiting.shift();
    if (w) w.resolve(ev);
    else queue.push(ev);
  });
  return {
    next() {
      const ev = queue.shift();
      if (ev) return Promise.resolve(ev);
      if (exited) return Promise.reject(new Error(`child exited; stderr: ${err}`));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    go() {
      proc.stdin!.write("go\n");
    },
    async kill() {
      if (!exited) proc.kill("SIGKILL");
      await exitPromise;
    },
    stderr: () => err,
  };
}

/** The URLs and key of a test fixture (useEngineFixture) that a child connects to. */
export interface ChildFixture {
  db: { url: string };
  source: { url: string };
  ts: { url: string; apiKey: string };
}

/**
 * A stepping child (it waits after each event) for the fixture's databases and
 * Typesense: saga on, a 1.5 s lease (a dead child's lease soon expires), one
 * window in flight unless `more` says otherwise.
 */
export function steppingChild(
  fx: ChildFixture,
  jobId: string,
  windowSize: number,
  more: Partial<ChildConfig> = {},
): SyncChild {
  return spawnSyncChild({
    controlUrl: fx.db.url,
    sourceUrl: fx.source.url,
    typesenseUrl: fx.ts.url,
    apiKey: fx.ts.apiKey,
    jobId,
    windowSize,
    leaseTtlMs: 1500,
    saga: true,
    step: true,
    maxWindowsInFlight: 1,
    ...more,
  });
}
