import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { clientFor } from "../support/typesense.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/emulator-child.ts", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/** Spawns a tsx process and resolves with the first http://host:port it prints. */
function spawnAndWaitForUrl(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) resolve({ child, url: m[0] });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => reject(new Error(`exited with ${code} before listening:\n${out}`)));
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on("exit", (code) => resolve(code));
  });
}

async function roundTrip(url: string, apiKey: string): Promise<void> {
  const client = clientFor(url, apiKey);
  await client.collections().create({ name: "books", fields: [{ name: "title", type: "string" }] });
  await client
    .collections("books")
    .documents()
    .import([{ id: "1", title: "Dune" }]);
  const r = await client.collections("books").documents().search({ q: "dune", query_by: "title" });
  expect(r.found).toBe(1);
  expect(await client.collections("books").documents().export()).toBe('{"id":"1","title":"Dune"}');
}

describe("emulator as a process (issue 4: done when)", () => {
  it("starts as a lifecycle service, serves the official client, stops on SIGTERM with 0", async () => {
    const { child, url } = await spawnAndWaitForUrl([CHILD, "cli-key", "0"]);
    try {
      await roundTrip(url, "cli-key");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exitCode(child)).toBe(0);
  });

  it("athena-typesense-sync typesense-emulator --port 0 --api-key K", async () => {
    const { child, url } = await spawnAndWaitForUrl([
      MAIN,
      "typesense-emulator",
      "--port",
      "0",
      "--api-key",
      "main-key",
    ]);
    try {
      await roundTrip(url, "main-key");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exitCode(child)).toBe(0);
  });

  it("--null-sink scans lines, --null-sink=validate validates them, other values exit 2", async () => {
    const answers: string[] = [];
    for (const flag of ["--null-sink", "--null-sink=validate"]) {
      const args = [MAIN, "typesense-emulator", "--port", "0", "--api-key", "k", flag];
      const { child, url } = await spawnAndWaitForUrl(args);
      try {
        const headers = { "X-TYPESENSE-API-KEY": "k" };
        const schema = { name: "s", fields: [{ name: "t", type: "string" }] };
        await fetch(`${url}/collections`, {
          method: "POST",
          headers,
          body: JSON.stringify(schema),
        });
        const r = await fetch(`${url}/collections/s/documents/import?return_id=true`, {
          method: "POST",
          headers,
          body: '{"id":"a","t":1}',
        });
        answers.push(await r.text());
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exitCode(child)).toBe(0);
    }
    expect(answers).toEqual([
      '{"id":"a","success":true}',
      '{"code":400,"error":"Field `t` must be a string.","success":false}',
    ]);
    const bad = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "typesense-emulator", "--null-sink=x"],
      {
        cwd: ROOT,
        stdio: "ignore",
      },
    );
    expect(await exitCode(bad)).toBe(2);
  });
});
