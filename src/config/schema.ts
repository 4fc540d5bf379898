import { z } from "zod";

// Values may arrive as strings after ${VAR} expansion ("8787", "true"), so
// numbers and booleans accept their canonical text forms too. Anything else
// is a validation error naming the key.
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v),
    z.number().int().min(min).max(max),
  );
const bool = () =>
  z.preprocess((v) => {
    if (typeof v !== "string") return v;
    const s = v.trim().toLowerCase();
    if (s === "true") return true;
    if (s === "false") return false;
    return v;
  }, z.boolean());
const pgUrl = () =>
  z
    .string()
    .min(1, "must not be empty")
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL");

/** seed 000's `typesense:` section, keys and defaults verbatim. */
export const typesenseSchema = z
  .object({
    allow_http: bool().default(false),
    sync_worker_enabled: bool().default(true),
    sync_worker_poll_ms: int(100).default(30000),
    import_max_attempts: int(1, 100).default(3),
    import_retry_base_ms: int(0).default(400),
    sync_saga_backup_enabled: bool().default(true),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default("0.0.0.0"),
        port: int(0, 65535).default(8787),
        body_limit_bytes: int(1024).default(1048576),
      })
      .strict()
      .prefault({}),
    control_database_url: pgUrl(),
    postgres_clients: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]+$/, "client names use letters, digits, _ and -"),
        z.object({ url: pgUrl(), pool_max: int(1, 1000).default(10) }).strict(),
      )
      .default({}),
    auth: z
      .object({
        admin_key: z.string().min(16, "must be at least 16 characters"),
        // Athena's default: when the key store is down, refuse (503).
        gateway_keys_fail_mode: z.enum(["closed", "open"]).default("closed"),
        // api_key_auth_log rows whose last attempt is older are pruned (hourly)
        auth_log_retention_days: int(1, 3650).default(30),
      })
      .strict(),
    security: z
      .object({
        // 32 bytes as 64 hex chars or base64; empty = backend keys stored unencrypted.
        encryption_key: z
          .string()
          .default("")
          .refine(
            (k) =>
              k === "" || /^[0-9a-fA-F]{64}$/.test(k) || Buffer.from(k, "base64").length === 32,
            "must be 32 bytes, as 64 hex characters or base64 (or empty)",
          ),
      })
      .strict()
      .prefault({}),
    typesense: typesenseSchema.prefault({}),
    fullsync: z
      .object({
        window_size: int(1, 100000).default(1000),
        lease_ttl_ms: int(1000).default(60000),
        max_concurrent_runs: int(1, 64).default(2),
        // how often serve drops kept versions past their keep period and sweeps orphan __v collections
        rebuild_sweep_interval_ms: int(100).default(60000),
        // keep content hashes so unchanged re-syncs stay in Postgres (docs/full-sync.md
        // "Content hashes"); off by default: storing them costs a first sync more than it saves
        content_hashes: bool().default(false),
      })
      .strict()
      .prefault({}),
    cdc: z
      .object({
        enabled: bool().default(true),
        plugin: z.enum(["pgoutput", "wal2json"]).default("pgoutput"),
        slot_prefix: z
          .string()
          .regex(/^[a-z0-9_]{1,40}$/, "lower-case letters, digits and _, at most 40 characters")
          .default("athena_ts"),
        flush_max_docs: int(1, 100000).default(1000),
        flush_interval_ms: int(1, 60000).default(50),
        heartbeat_ms: int(100).default(10000),
        // a job whose Typesense writes fail this long is parked (docs/cdc.md, "Parked jobs")
        park_after_ms: int(100).default(60000),
        // how often a parked job's backend is probed
        park_probe_ms: int(100).default(5000),
        // /ready: a stream in error/backoff/lost (or re-setting up) longer than this is not ready
        ready_max_unhealthy_ms: int(0).default(60000),
      })
      .strict()
      .prefault({}),
    // the Typesense-compatible search gateway at /typesense-api (docs/gateway.md)
    gateway: z
      .object({
        // browser origins allowed to call it ("https://shop.example", or "*"); a
        // comma-separated string is accepted too (one ${VAR}); empty = no CORS headers
        cors_origins: z
          .preprocess(
            (v) =>
              typeof v === "string"
                ? v
                    .split(",")
                    .map((x) => x.trim())
                    .filter((x) => x !== "")
                : v,
            z.array(
              z
                .string()
                .regex(/^(\*|https?:\/\/[^/\s]+)$/, 'an origin: "https://host[:port]" or "*"'),
            ),
          )
          .default([]),
        // token bucket per search key (a key's rate_per_second / rate_burst override it);
        // per_second 0 = no limit
        rate_limit: z
          .object({
            per_second: int(0, 1_000_000).default(50),
            burst: int(1, 1_000_000).default(100),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z
          .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
          .default("info"),
        pretty: bool().default(false),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({ drain_timeout_ms: int(100).default(30000) })
      .strict()
      .prefault({}),
    // test hooks, never for production: the rebuild of job <id> stops (forever) at its
    // point, logged "rebuild paused", so a crash test SIGKILLs it exactly there
    // (fullsync/rebuild-stage.ts REBUILD_PAUSE_POINTS)
    testing: z
      .object({
        rebuild_pause_at: z
          .record(
            z.uuid(),
            z.enum(["after-create", "mid-build", "before-swap", "after-swap", "before-drop"]),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type TypesenseSettings = z.infer<typeof typesenseSchema>;
