import pg from "pg";
import { ServiceError } from "../errors/service-error.js";
import type { Logger } from "../lifecycle/logger.js";
import { redactText } from "../lifecycle/logger.js";

// int8 -> string (default) keeps precision; numeric stays string as well.
// timestamptz stays a Date. We set no global type parsers here: catalog/
// decides conversions per column from text values.

/**
 * Session settings of every source connection (pools and the replication
 * connection), sent as startup options so they win over database and role
 * defaults. Documents are built from the values' output text, and the same
 * row must give the same document whatever the source's defaults are:
 * - DateStyle ISO: date/timestamp text the catalog parses (other styles would
 *   make it drop the field; the SQL rendering uses extract(epoch), unaffected);
 * - extra_float_digits 1: shortest exact float text, what JS parses (0 would
 *   round to 15 digits);
 * - IntervalStyle postgres, bytea_output hex: the text of string-mapped types.
 */
export const SOURCE_SESSION_OPTIONS =
  "-c DateStyle=ISO,MDY -c extra_float_digits=1 -c IntervalStyle=postgres -c bytea_output=hex";

/**
 * The connection settings of a source: the URL without its own `options`
 * parameter, and that parameter (if any) followed by SOURCE_SESSION_OPTIONS.
 * pg lets a URL's `options` replace a config's, so the two are merged here;
 * ours come last, and Postgres applies `-c` flags in order, so they win.
 */
export function sourceConnection(url: string): { connectionString: string; options: string } {
  let own: string | null = null;
  let connectionString = url;
  try {
    const u = new URL(url);
    own = u.searchParams.get("options");
    if (own !== null) {
      u.searchParams.delete("options");
      connectionString = u.toString();
    }
  } catch {
    // not a URL pg would parse either (e.g. a key=value string): left as is
  }
  return {
    connectionString,
    options: own ? `${own} ${SOURCE_SESSION_OPTIONS}` : SOURCE_SESSION_OPTIONS,
  };
}

export interface PoolOptions {
  url: string;
  /** For logs: "control" or the source client name. */
  name: string;
  log: Logger;
  max?: number;
  /** application_name shown in pg_stat_activity. */
  applicationName?: string;
  /** statement_timeout for every connection, ms (0 = none). */
  statementTimeoutMs?: number;
  /** A source pool: SOURCE_SESSION_OPTIONS on every connection (sourceConnection). */
  source?: boolean;
}

/**
 * A pg.Pool whose idle-client errors are logged instead of crashing the
 * process (pg emits 'error' on the pool when a server restarts).
 */
export function createPool(opts: PoolOptions): pg.Pool {
  const conn = opts.source ? sourceConnection(opts.url) : { connectionString: opts.url };
  const pool = new pg.Pool({
    ...conn,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? `athena-typesense-sync:${opts.name}`,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  pool.on("error", (err) => {
    opts.log.warn(
      { component: "db", pool: opts.name, err: { message: redactText(err.message) } },
      "idle database connection failed",
    );
  });
  return pool;
}

/** Control pool connections for short queries (API, scheduler, streams' control writes). */
const CONTROL_POOL_WORKING = 10;

/** Pools for the control DB and every configured source client, closed together. */
export interface Pools {
  control: pg.Pool;
  /** Pool of a source client by name; throws a clear error for an unknown client. */
  source(clientName: string): pg.Pool;
  sourceNames(): string[];
  /** Connection URL of a source client (replication needs its own connections). */
  sourceUrl(clientName: string): string;
  close(): Promise<void>;
}

export class UnknownClientError extends ServiceError {
  override readonly name = "UnknownClientError";
  constructor(readonly clientName: string) {
    // the one place a client name is chosen by the caller is the job's source_client_name
    super(
      "UNKNOWN_SOURCE_CLIENT",
      `unknown source client "${clientName}" (not in postgres_clients of the config)`,
      {
        detail: { field: "source_client_name" },
      },
    );
  }
}

export function createPools(opts: {
  controlUrl: string;
  clients: Record<string, { url: string; pool_max?: number }>;
  log: Logger;
}): Pools {
  // Control connections held for long come ON TOP of the working size: one advisory-lock
  // connection per source client whose CDC stream this instance leads (cdc/leader.ts) and
  // the scheduler's LISTEN. With a fixed 10, ten CDC clients held every connection and each
  // API request, scheduler poll and stream control write waited until it failed (503).
  const held = Object.keys(opts.clients).length + 1;
  const control = createPool({
    url: opts.controlUrl,
    name: "control",
    log: opts.log,
    max: CONTROL_POOL_WORKING + held,
  });
  const sources = new Map<string, pg.Pool>();
  return {
    control,
    source(name) {
      const cfg = opts.clients[name];
      if (!cfg) throw new UnknownClientError(name);
      let p = sources.get(name);
      if (!p) {
        p = createPool({
          url: cfg.url,
          name,
          log: opts.log,
          max: cfg.pool_max ?? 10,
          source: true,
        });
        sources.set(name, p);
      }
      return p;
    },
    sourceNames: () => Object.keys(opts.clients),
    sourceUrl(name) {
      const cfg = opts.clients[name];
      if (!cfg) throw new UnknownClientError(name);
      return cfg.url;
    },
    async close() {
      await Promise.allSettled([control.end(), ...[...sources.values()].map((p) => p.end())]);
    },
  };
}
