-- Auth attempt log (seed 001's api_key_auth_log): every refused attempt
-- (401/403/503 from auth) and every call of an admin-only route.
--
-- One row is an AGGREGATE: all attempts with the same (bucket, key, method,
-- route, right, outcome, status, reason, address) within one minute bucket.
-- The sidecar buffers attempts in memory and upserts them in batches
-- (src/control/auth-log.ts), adding to `attempts`, so a flood of bad keys
-- grows counts, not rows. No secret is ever stored: not the presented token,
-- not a prefix of it, not its hash.
create table api_key_auth_log (
  id bigint generated always as identity primary key,
  -- start of the one-minute bucket the attempts fell into
  bucket_start timestamptz not null,
  first_seen_at timestamptz not null,
  last_seen_at timestamptz not null,
  -- public id of an existing key, 'admin' (static key), 'none' (no key, or a
  -- key that names no existing public id) or '*' (aggregated beyond the
  -- per-minute row bound, see docs/operations.md)
  key_public_id text not null,
  method text not null,
  -- the route pattern (/typesense/sync-jobs/:job_id), never the raw path or query
  route text not null,
  -- 'admin', or the gateway right the route needs
  right_needed text not null,
  outcome text not null check (outcome in ('refused', 'allowed', 'dropped')),
  -- HTTP status: 401/403/503 for refusals, the response status for admin calls
  status integer not null,
  reason text not null,
  -- the TCP peer address; 'unknown' for in-process requests, '*' when aggregated
  client_addr text not null,
  attempts bigint not null check (attempts > 0),
  unique (bucket_start, key_public_id, method, route, right_needed, outcome, status, reason, client_addr)
);

-- reads page newest first (id desc) with filters; retention deletes by age
create index api_key_auth_log_last_seen on api_key_auth_log (last_seen_at);
create index api_key_auth_log_key on api_key_auth_log (key_public_id, id);
