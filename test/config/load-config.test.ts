import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/index.js";

const MIN = `
control_database_url: postgres://u:p@localhost/control
auth: { admin_key: "0123456789abcdef" }
`;

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("fills every default of DESIGN section 7 and seed 000's typesense section", () => {
    const c = parseConfig(MIN, {});
    expect(c.server).toEqual({ host: "0.0.0.0", port: 8787, body_limit_bytes: 1048576 });
    expect(c.typesense).toEqual({
      allow_http: false,
      sync_worker_enabled: true,
      sync_worker_poll_ms: 30000,
      import_max_attempts: 3,
      import_retry_base_ms: 400,
      sync_saga_backup_enabled: true,
    });
    expect(c.cdc).toEqual({
      enabled: true,
      plugin: "pgoutput",
      slot_prefix: "athena_ts",
      flush_max_docs: 1000,
      flush_interval_ms: 50,
      heartbeat_ms: 10000,
      park_after_ms: 60000,
      park_probe_ms: 5000,
    });
    expect(c.security.encryption_key).toBe("");
    expect(c.postgres_clients).toEqual({});
    expect(c.auth.gateway_keys_fail_mode).toBe("closed");
  });

  it("expands ${VAR} and ${VAR:-default}, coercing numbers and booleans from text", () => {
    const c = parseConfig(
      `
server:
  port: \${PORT}
  host: \${HOST:-127.0.0.1}
control_database_url: \${DB}
postgres_clients: { app: { url: "\${APP_DB}" } }
auth:
  admin_key: \${KEY}
typesense:
  allow_http: \${ALLOW:-false}
  import_max_attempts: "\${ATTEMPTS:-5}"
`,
      {
        PORT: "9000",
        DB: "postgres://a:b@h/c",
        APP_DB: "postgresql://x@y/z",
        KEY: "k".repeat(20),
        ALLOW: "TRUE",
        ATTEMPTS: "",
      },
    );
    expect(c.server.port).toBe(9000);
    expect(c.server.host).toBe("127.0.0.1");
    expect(c.typesense.allow_http).toBe(true);
    // empty counts as unset for :- (POSIX), so the default applies
    expect(c.typesense.import_max_attempts).toBe(5);
    expect(c.postgres_clients.app?.url).toBe("postgresql://x@y/z");
  });

  it("keeps secrets with YAML-special characters intact (expansion after parsing)", () => {
    const c = parseConfig(MIN.replace("0123456789abcdef", "${K}"), {
      K: "a: b # c, {d} 'e' \"f\"",
    });
    expect(c.auth.admin_key).toBe("a: b # c, {d} 'e' \"f\"");
  });

  it("names a missing environment variable and the key that needs it", () => {
    const issues = issuesOf(() =>
      parseConfig(
        "control_database_url: ${ATHENA_LOGGING_DATABASE_URL}\nauth:\n  admin_key: ${ATHENA_KEY_12}",
        {},
      ),
    );
    expect(issues).toEqual([
      {
        path: "control_database_url",
        message: "environment variable ATHENA_LOGGING_DATABASE_URL is not set",
      },
      { path: "auth.admin_key", message: "environment variable ATHENA_KEY_12 is not set" },
    ]);
  });

  it("reports every bad key of a file by its path (three wrong keys -> three issues)", () => {
    const issues = issuesOf(() =>
      parseConfig(
        `${MIN}
typesense: { import_max_attempts: 0, allow_htp: true }
server: { port: "eighty" }
`,
        {},
      ),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      "server.port",
      "typesense.allow_htp",
      "typesense.import_max_attempts",
    ]);
    expect(issues.find((i) => i.path === "typesense.allow_htp")?.message).toBe("unknown key");
  });

  it("rejects wrong types, enums, URLs and short keys with a message per key", () => {
    const issues = issuesOf(() =>
      parseConfig(
        `
control_database_url: mysql://nope
auth: { admin_key: short }
cdc: { plugin: test_decoding, slot_prefix: "Bad-Prefix" }
security: { encryption_key: "not-32-bytes" }
postgres_clients: { "bad name": { url: "postgres://h/d" } }
log: { level: loud }
`,
        {},
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "control_database_url",
        "auth.admin_key",
        "cdc.plugin",
        "cdc.slot_prefix",
        "security.encryption_key",
        "postgres_clients.bad name",
        "log.level",
      ]),
    );
    expect(issues.find((i) => i.path === "auth.admin_key")?.message).toMatch(/at least 16/);
  });

  it("auth.auth_log_retention_days defaults to 30 days; 0 or a word is refused by its key", () => {
    expect(parseConfig(MIN, {}).auth.auth_log_retention_days).toBe(30);
    const days = (v: string) =>
      parseConfig(
        `control_database_url: postgres://u:p@localhost/control
auth: { admin_key: "0123456789abcdef", auth_log_retention_days: ${v} }`,
        {},
      );
    expect(days('"7"').auth.auth_log_retention_days).toBe(7);
    for (const bad of ["0", "many"]) {
      expect(issuesOf(() => days(bad)).map((i) => i.path)).toEqual([
        "auth.auth_log_retention_days",
      ]);
    }
  });

  it("requires control_database_url and auth", () => {
    const issues = issuesOf(() => parseConfig("server: {port: 1}", {}));
    expect(issues.map((i) => i.path).sort()).toEqual(["auth", "control_database_url"]);
  });

  it("rejects invalid YAML and a non-mapping top level", () => {
    expect(issuesOf(() => parseConfig("a: [1, 2", {}))[0]?.message).toMatch(/^not valid YAML/);
    expect(issuesOf(() => parseConfig("- 1\n- 2", {}))).toEqual([
      { path: "", message: "the top level must be a mapping" },
    ]);
  });

  it("accepts a 32-byte encryption key as hex or base64", () => {
    const hex = "ab".repeat(32);
    const b64 = Buffer.alloc(32, 7).toString("base64");
    for (const k of [hex, b64]) {
      const c = parseConfig(`${MIN}\nsecurity: { encryption_key: "${k}" }`, {});
      expect(c.security.encryption_key).toBe(k);
    }
  });

  it("reads a file, and names a missing file", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    const file = join(dir, "c.yaml");
    writeFileSync(file, MIN);
    expect(loadConfig({ env: {}, file }).auth.admin_key).toBe("0123456789abcdef");
    const issues = issuesOf(() => loadConfig({ env: {}, file: join(dir, "missing.yaml") }));
    expect(issues).toEqual([{ path: "", message: "file not found" }]);
  });

  it("the shipped config/config.yaml and config/demo.yaml load with their env", () => {
    const prod = loadConfig({
      file: "config/config.yaml",
      env: {
        ATHENA_LOGGING_DATABASE_URL: "postgres://l/c",
        APP_DATABASE_URL: "postgres://l/app",
        ATHENA_KEY_12: "x".repeat(32),
      },
    });
    expect(prod.typesense.sync_worker_poll_ms).toBe(30000);
    expect(prod.postgres_clients.app?.url).toBe("postgres://l/app");
    const demo = loadConfig({
      file: "config/demo.yaml",
      env: {
        DEMO_CONTROL_DATABASE_URL: "postgres://l/c",
        DEMO_SOURCE_DATABASE_URL: "postgres://l/s",
        DEMO_ADMIN_KEY: "y".repeat(32),
      },
    });
    expect(demo.typesense.allow_http).toBe(true);
  });
});
