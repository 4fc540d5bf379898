#!/usr/bin/env node
// The only composition root: parses the command line, reads process.env and
// the config file, builds every module with explicit dependencies, and runs
// them as Services. Nothing else in src/ reads process.env (lint-enforced).
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runDemo } from "./cli/demo.js";
import { runEmulatorCommand } from "./cli/emulator.js";
import { COMMANDS, type CommandName, HELP } from "./cli/help.js";
import { runJobsCommand } from "./cli/jobs.js";
import { runServe } from "./cli/serve.js";
import { runSyncCommand } from "./cli/sync.js";
import { ConfigError, loadConfig } from "./config/index.js";
import { createPool, migrate } from "./db/index.js";
import { createLogger } from "./lifecycle/index.js";

const SQL_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "sql");
const DEFAULT_CONFIG = process.env.ATHENA_TS_CONFIG ?? "config/config.yaml";

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP.main);
    return command ? 0 : 2;
  }
  if (!COMMANDS.includes(command as CommandName)) {
    process.stderr.write(`unknown command "${command}"\n\n${HELP.main}`);
    return 2;
  }
  const name = command as CommandName;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      // `--null-sink` alone means the fast sink; `--null-sink=validate` selects the other mode
      args: rest.map((a) => (a === "--null-sink" ? "--null-sink=fast" : a)),
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        config: { type: "string", short: "c" },
        "database-url": { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        "api-key": { type: "string" },
        "null-sink": { type: "string" },
        "no-migrate": { type: "boolean" },
        "no-writes": { type: "boolean" },
        rows: { type: "string" },
        file: { type: "string", short: "f" },
        prune: { type: "boolean" },
        "detailed-exitcode": { type: "boolean" },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP[name]}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP[name]);
    return 0;
  }
  const configFile = resolve(String(values.config ?? DEFAULT_CONFIG));
  const loadOrExit = () => loadConfig({ env: process.env, file: configFile });

  try {
    switch (name) {
      case "migrate": {
        // --database-url migrates without a full config (e.g. an init container)
        const url = values["database-url"]
          ? String(values["database-url"])
          : loadOrExit().control_database_url;
        const log = createLogger({ level: process.env.LOG_LEVEL ?? "info" });
        const pool = createPool({ url, name: "control", log, max: 1 });
        try {
          const r = await migrate({ pool, dir: SQL_DIR, log });
          log.info(
            {
              component: "migrate",
              applied: r.applied.map((m) => m.file),
              alreadyApplied: r.alreadyApplied,
            },
            r.applied.length ? "migrations applied" : "database is up to date",
          );
        } finally {
          await pool.end();
        }
        return 0;
      }
      case "serve":
        return await runServe({
          config: loadOrExit(),
          sqlDir: SQL_DIR,
          migrate: !values["no-migrate"],
          exit: (code) => process.exit(code),
        });
      case "sync":
        return await runSyncCommand({
          config: loadOrExit(),
          args: positionals,
          isTTY: Boolean(process.stderr.isTTY),
          out: process.stderr,
          exit: (code) => process.exit(code),
        });
      case "jobs":
        return await runJobsCommand({
          config: loadOrExit(),
          args: positionals,
          file: values.file === undefined ? undefined : resolve(String(values.file)),
          prune: Boolean(values.prune),
          detailedExitcode: Boolean(values["detailed-exitcode"]),
          env: process.env,
          out: process.stdout,
          err: process.stderr,
        });
      case "typesense-emulator":
        return await runEmulatorCommand({
          port: values.port === undefined ? 8108 : Number(values.port),
          host: String(values.host ?? "127.0.0.1"),
          apiKey: values["api-key"] === undefined ? undefined : String(values["api-key"]),
          nullSink: values["null-sink"] === undefined ? false : String(values["null-sink"]),
          logLevel: process.env.LOG_LEVEL ?? "info",
          exit: (code) => process.exit(code),
        });
      case "demo":
        return await runDemo({
          sqlDir: SQL_DIR,
          demoConfigFile: resolve(String(values.config ?? "config/demo.yaml")),
          env: process.env,
          port: values.port === undefined ? undefined : Number(values.port),
          writes: !values["no-writes"],
          rows: values.rows === undefined ? undefined : Number(values.rows),
          isTTY: Boolean(process.stdout.isTTY),
          exit: (code) => process.exit(code),
        });
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
