-- Search keys for the Typesense-compatible gateway (/typesense-api, docs/gateway.md).
--
-- A table of its own, not a kind of api_keys row: an api_keys secret is only
-- ever stored hashed (it opens the control plane), while a search key's secret
-- must be recoverable, because keys minted from it with typesense-js
-- generateScopedSearchKey are HMAC-SHA256 digests keyed by the secret itself.
-- Keeping the two apart means no control-plane key ever has a recoverable
-- secret, and a search key can never hold a control-plane right.
--
-- The token is public_id (12 hex) + secret (52 hex); the whole token is sealed
-- (control/secret-box.ts, AES-256-GCM under security.encryption_key, the row
-- id as AAD) and never returned after creation, never logged.
create table api_search_keys (
  id uuid primary key,
  public_id text not null unique check (public_id ~ '^[0-9a-f]{12}$'),
  -- the token's first 4 characters: a scoped key carries them to name its parent
  key_prefix text generated always as (substr(public_id, 1, 4)) stored,
  name text not null check (length(name) > 0),
  description text,
  token_sealed text not null,
  -- the sync jobs whose collections the key may search (no FK: a deleted or
  -- disabled job simply stops answering for the key)
  job_ids uuid[] not null check (cardinality(job_ids) between 1 and 100),
  -- forced search parameters, AND-ed / intersected / capped with the caller's
  filter_by text check (filter_by is null or length(filter_by) between 1 and 4000),
  include_fields text,
  exclude_fields text,
  per_page_max integer check (per_page_max between 1 and 250),
  limit_hits integer check (limit_hits > 0),
  -- per-key token bucket; null = gateway.rate_limit from the config
  rate_per_second double precision check (rate_per_second > 0),
  rate_burst integer check (rate_burst > 0),
  is_active boolean not null default true,
  expires_at timestamptz,
  last_used_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index api_search_keys_prefix on api_search_keys (key_prefix);
