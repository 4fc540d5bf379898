import { execFile, execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, LOGICAL_REPLICATION_SETTINGS } from "../../src/demo/embedded-postgres.js";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PG15_BIN = "/usr/lib/postgresql/15/bin";
export const WAL2JSON_SO = "/usr/lib/postgresql/15/lib/wal2json.so";

/**
 * Makes sure Debian's PostgreSQL 15 with wal2json is installed: runs
 * .ci/install-postgres-wal2json.sh (idempotent, apt-get as root) when the
 * plugin is missing, like test/console does with .ci/install-chromium.sh.
 */
export function ensureWal2jsonInstalled(): void {
  if (existsSync(WAL2JSON_SO) && existsSync(join(PG15_BIN, "pg_recvlogical"))) return;
  // flock: test files run in parallel workers, and two apt-gets at once would
  // fail on dpkg's lock; the second one finds everything installed.
  execFileSync(
    "flock",
    [
      join(tmpdir(), "ats-install-postgres-wal2json.lock"),
      "bash",
      join(ROOT, ".ci", "install-postgres-wal2json.sh"),
    ],
    { stdio: "inherit" },
  );
}

/** Whether this postgres build has a server setting (Debian point releases differ). */
function knowsSetting(name: string): boolean {
  const config = execFileSync(join(PG15_BIN, "postgres"), ["--describe-config"], {
    // the server refuses to run as root, except for --describe-config
    maxBuffer: 16 * 1024 * 1024,
  }).toString();
  return config.split("\n").some((line) => line.startsWith(`${name}\t`));
}

export interface DebianCluster {
  /** Superuser URL of the `postgres` database. */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  urlFor(database: string): string;
  /** pg_ctl stop -m fast (the data directory stays: start() brings it back). */
  stopServer(): Promise<void>;
  /** pg_ctl start on the same port and data directory. */
  startServer(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * A throwaway Debian PostgreSQL 15 cluster: initdb in a temp dir (as the
 * `postgres` OS user when running as root: the server refuses root), logical
 * decoding on, a free port, unix socket inside the temp dir. Needs the binaries
 * of postgresql-15 (see ensureWal2jsonInstalled).
 */
export async function startDebianCluster(
  settings: Record<string, string> = {},
): Promise<DebianCluster> {
  const asRoot = process.getuid?.() === 0;
  const base = mkdtempSync(join(tmpdir(), "ats-pg15-"));
  chmodSync(base, 0o755);
  const dataDir = join(base, "data");
  const logFile = join(base, "server.log");
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(base, uid, gid);
  }
  const pgRun = (bin: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", join(PG15_BIN, bin), ...args])
      : run(join(PG15_BIN, bin), args);
  await pgRun("initdb", [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
    "--no-sync",
  ]);
  const port = await freePort();
  const all: Record<string, string> = {
    ...LOGICAL_REPLICATION_SETTINGS,
    max_connections: "100",
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    shared_buffers: "64MB",
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: base,
    // Debian's 15.20 only lets REPLICATION users name listed output plugins;
    // older 15.x builds do not know the setting (and refuse to start with it)
    ...(knowsSetting("output_plugin_libraries")
      ? { output_plugin_libraries: "pgoutput,test_decoding,wal2json" }
      : {}),
    ...settings,
  };
  const opts = Object.entries(all)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(" ");
  const startServer = async () => {
    await pgRun("pg_ctl", ["-D", dataDir, "-l", logFile, "-o", opts, "-w", "-t", "60", "start"]);
  };
  const stopServer = async () => {
    await pgRun("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"]);
  };
  await startServer();
  const urlFor = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  let stopped = false;
  return {
    adminUrl: urlFor("postgres"),
    port,
    dataDir,
    urlFor,
    startServer,
    stopServer,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopServer().catch(() => {});
      rmSync(base, { recursive: true, force: true });
    },
  };
}
