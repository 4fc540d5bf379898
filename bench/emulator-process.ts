import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/demo/embedded-postgres.js";

export interface EmulatorProcess {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/**
 * `athena-typesense-sync typesense-emulator <flag>` as a child process on a
 * free port (as Typesense would run: not in the measuring process), once its
 * /health answers. Its own logs are kept to warnings.
 */
export async function startEmulatorProcess(o: {
  apiKey: string;
  flag: string;
}): Promise<EmulatorProcess> {
  const port = await freePort();
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const args = ["--import", "tsx", main, "typesense-emulator", "--port", String(port)];
  const child = spawn(process.execPath, [...args, "--api-key", o.apiKey, o.flag], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, LOG_LEVEL: "warn" },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {}
    if (i > 300) throw new Error("the emulator process did not start");
    await sleep(50);
  }
  return {
    url,
    pid: child.pid ?? 0,
    close: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}
