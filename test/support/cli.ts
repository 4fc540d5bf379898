import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = join(ROOT, "src", "main.ts");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the real CLI (src/main.ts through tsx) as a child process. */
export function spawnCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): ChildProcess & { result: Promise<CliResult>; output: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const result = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return Object.assign(child, { result, output: () => stdout + stderr });
}

export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return await spawnCli(args, opts).result;
}

/** Resolves when `pred(output so far)` holds, rejects after `ms` (a bound, not a timing assertion). */
export async function waitForOutput(
  child: { output: () => string },
  pred: (out: string) => boolean,
  ms = 60_000,
): Promise<string> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    const out = child.output();
    if (pred(out)) return out;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for output; got:\n${child.output()}`);
}
