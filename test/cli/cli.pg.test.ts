import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_TABLE } from "../../src/db/migrate.js";
import { runCli, spawnCli, waitForOutput } from "../support/cli.js";
import { useTestDatabase } from "../support/pg.js";

describe("CLI", () => {
  const db = useTestDatabase({ migrate: false });

  it("prints help for the program and for every command", async () => {
    const main = await runCli(["--help"]);
    expect(main.code).toBe(0);
    for (const cmd of ["serve", "migrate", "demo", "sync", "jobs", "typesense-emulator"]) {
      expect(main.stdout).toContain(cmd);
      const r = await runCli([cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(new RegExp(`^Usage: athena-typesense-sync ${cmd}`));
    }
  });

  it("rejects an unknown command and an unknown option with exit code 2", async () => {
    const a = await runCli(["frobnicate"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown command "frobnicate"');
    const b = await runCli(["migrate", "--bogus"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/bogus/);
  });

  it("migrate twice: applies, then changes nothing", async () => {
    const first = await runCli(["migrate", "--database-url", db.url]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("migrations applied");
    const before = await db.pool.query(
      `select version, checksum, applied_at from ${MIGRATIONS_TABLE}`,
    );
    const second = await runCli(["migrate", "--database-url", db.url]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("database is up to date");
    const after = await db.pool.query(
      `select version, checksum, applied_at from ${MIGRATIONS_TABLE}`,
    );
    expect(after.rows).toEqual(before.rows);
  });

  it("a config with three wrong keys exits 2 and lists all three", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-cfg-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(
      file,
      `control_database_url: ${db.url}
auth:
  admin_key: "0123456789abcdef0123"
server:
  port: 99999
typesense:
  import_max_attempts: zero
cdc:
  plugin: test_decoding
`,
    );
    const r = await runCli(["serve", "--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid configuration in ${file}`);
    for (const key of ["server.port", "typesense.import_max_attempts", "cdc.plugin"]) {
      expect(r.stderr).toContain(`- ${key}:`);
    }
  });

  it("names a missing environment variable", async () => {
    const r = await runCli(["serve", "--config", "config/config.yaml"], {
      env: { APP_DATABASE_URL: "postgres://x/y", ATHENA_KEY_12: "k".repeat(20) },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "control_database_url: environment variable ATHENA_LOGGING_DATABASE_URL is not set",
    );
  });

  it("serve migrates, answers /health and /ready, exits 0 on SIGTERM and flushes the auth log on the way out", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-serve-"));
    const file = join(dir, "c.yaml");
    writeFileSync(
      file,
      `control_database_url: ${db.url}
server:
  host: 127.0.0.1
  port: 0
auth:
  admin_key: "0123456789abcdef0123"
typesense:
  sync_worker_enabled: false
cdc:
  enabled: false
`,
    );
    const child = spawnCli(["serve", "--config", file]);
    const out = await waitForOutput(child, (o) => o.includes("http server listening"));
    const url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
    expect(url).toBeDefined();
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);
    expect((await fetch(`${url}/typesense/sync-jobs`)).status).toBe(401);
    child.kill("SIGTERM");
    const r = await child.result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("signal received: draining");
    // the auth-log service stops after HTTP and writes what was still buffered
    const logged = await db.pool.query(
      "select reason, attempts::int from api_key_auth_log where route = '/typesense/sync-jobs'",
    );
    expect(logged.rows).toEqual([{ reason: "API key required", attempts: 1 }]);
    // the admin key never reaches the logs
    expect(r.stdout + r.stderr).not.toContain("0123456789abcdef0123");
    // no security.encryption_key in this config: said once, at startup
    expect(r.stdout.split("backend API keys are stored unencrypted").length - 1).toBe(1);
  });
});
