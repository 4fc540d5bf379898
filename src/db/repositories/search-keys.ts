import type { Db } from "../transaction.js";

/**
 * Typed access to api_search_keys (sql/011) and the enabled jobs a search key
 * reaches. Only stores and reads columns: the token format, sealing and the
 * constant-time compares are control/search-keys.ts's. `token_sealed` is read
 * only by the credential lookups and never logged.
 */

/** What the admin API shows: never the sealed token. */
export interface SearchKeyRecord {
  id: string;
  public_id: string;
  name: string;
  description: string | null;
  job_ids: string[];
  filter_by: string | null;
  include_fields: string | null;
  exclude_fields: string | null;
  per_page_max: number | null;
  limit_hits: number | null;
  rate_per_second: number | null;
  rate_burst: number | null;
  is_active: boolean;
  expires_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A key row with its sealed token (the gateway's lookups; never leaves src/). */
export interface SearchKeyCredentialRow extends SearchKeyRecord {
  token_sealed: string;
}

/** The columns a create or patch may set (undefined = leave as is). */
export interface SearchKeyColumns {
  name?: string | undefined;
  description?: string | null | undefined;
  job_ids?: string[] | undefined;
  filter_by?: string | null | undefined;
  include_fields?: string | null | undefined;
  exclude_fields?: string | null | undefined;
  per_page_max?: number | null | undefined;
  limit_hits?: number | null | undefined;
  rate_per_second?: number | null | undefined;
  rate_burst?: number | null | undefined;
  is_active?: boolean | undefined;
  expires_at?: Date | null | undefined;
}

const PATCHABLE = [
  "name",
  "description",
  "job_ids",
  "filter_by",
  "include_fields",
  "exclude_fields",
  "per_page_max",
  "limit_hits",
  "rate_per_second",
  "rate_burst",
  "is_active",
  "expires_at",
] as const satisfies readonly (keyof SearchKeyColumns)[];

const RECORD = `id, public_id, name, description, job_ids::text[] as job_ids, filter_by,
  include_fields, exclude_fields, per_page_max, limit_hits, rate_per_second, rate_burst,
  is_active, expires_at, last_used_at, created_at, updated_at`;

export async function listSearchKeyRecords(db: Db): Promise<SearchKeyRecord[]> {
  const r = await db.query<SearchKeyRecord>(
    `select ${RECORD} from api_search_keys order by created_at, id`,
  );
  return r.rows;
}

export async function findSearchKeyRecord(db: Db, id: string): Promise<SearchKeyRecord | null> {
  const r = await db.query<SearchKeyRecord>(`select ${RECORD} from api_search_keys where id = $1`, [
    id,
  ]);
  return r.rows[0] ?? null;
}

export async function insertSearchKey(
  db: Db,
  k: { id: string; publicId: string; tokenSealed: string } & SearchKeyColumns & {
      name: string;
      job_ids: string[];
    },
): Promise<void> {
  await db.query(
    `insert into api_search_keys (id, public_id, token_sealed, name, description, job_ids,
       filter_by, include_fields, exclude_fields, per_page_max, limit_hits, rate_per_second,
       rate_burst, expires_at)
     values ($1, $2, $3, $4, $5, $6::uuid[], $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      k.id,
      k.publicId,
      k.tokenSealed,
      k.name,
      k.description ?? null,
      k.job_ids,
      k.filter_by ?? null,
      k.include_fields ?? null,
      k.exclude_fields ?? null,
      k.per_page_max ?? null,
      k.limit_hits ?? null,
      k.rate_per_second ?? null,
      k.rate_burst ?? null,
      k.expires_at ?? null,
    ],
  );
}

/** Sets the given columns and updated_at; false when no such key. */
export async function updateSearchKeyColumns(
  db: Db,
  id: string,
  patch: SearchKeyColumns,
): Promise<boolean> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const col of PATCHABLE) {
    if (patch[col] === undefined) continue;
    values.push(patch[col]);
    sets.push(`${col} = $${values.length}${col === "job_ids" ? "::uuid[]" : ""}`);
  }
  const r = await db.query(
    `update api_search_keys set ${[...sets, "updated_at = now()"].join(", ")} where id = $1`,
    values,
  );
  return (r.rowCount ?? 0) > 0;
}

export async function deleteSearchKeyRow(db: Db, id: string): Promise<boolean> {
  const r = await db.query("delete from api_search_keys where id = $1", [id]);
  return (r.rowCount ?? 0) > 0;
}

/** The key whose token starts with this public id (a parent key used as it is). */
export async function findSearchKeyByPublicId(
  db: Db,
  publicId: string,
): Promise<SearchKeyCredentialRow | null> {
  const r = await db.query<SearchKeyCredentialRow>(
    `select ${RECORD}, token_sealed from api_search_keys where public_id = $1`,
    [publicId],
  );
  return r.rows[0] ?? null;
}

/**
 * The keys whose token starts with these 4 characters: the parents a scoped
 * key may have been minted from (it carries only that prefix). Bounded: with
 * 65536 prefixes a collision is rare, and each candidate costs one HMAC.
 */
export async function findSearchKeysByPrefix(
  db: Db,
  prefix: string,
): Promise<SearchKeyCredentialRow[]> {
  const r = await db.query<SearchKeyCredentialRow>(
    `select ${RECORD}, token_sealed from api_search_keys where key_prefix = $1
      order by created_at limit 20`,
    [prefix],
  );
  return r.rows;
}

/** At most one write per key per 30 s (the condition is in the statement). */
export async function touchSearchKey(db: Db, id: string): Promise<void> {
  await db.query(
    `update api_search_keys set last_used_at = now()
      where id = $1 and (last_used_at is null or last_used_at < now() - interval '30 seconds')`,
    [id],
  );
}

/** The ids among `jobIds` that name an existing sync job (enabled or not). */
export async function existingJobIds(db: Db, jobIds: readonly string[]): Promise<Set<string>> {
  const r = await db.query<{ id: string }>(
    "select id::text from typesense_sync_jobs where id = any($1::uuid[])",
    [jobIds],
  );
  return new Set(r.rows.map((x) => x.id));
}

/** An enabled job a search key reaches, with its backend (the sealed key column). */
export interface GatewayJobRow {
  id: string;
  collection_name: string;
  profile_id: string;
  base_url: string;
  additional_node_urls: string[];
  api_key_stored: string;
  timeout_ms: number;
}

/** The ENABLED jobs among `jobIds`, joined with their backends, in one query. */
export async function findEnabledJobsByIds(
  db: Db,
  jobIds: readonly string[],
): Promise<GatewayJobRow[]> {
  const r = await db.query<GatewayJobRow>(
    `select j.id, j.collection_name, j.profile_id, p.base_url, p.additional_node_urls,
            p.api_key_stored, p.timeout_ms
       from typesense_sync_jobs j join typesense_profiles p on p.id = j.profile_id
      where j.enabled and j.id = any($1::uuid[])
      order by j.created_at`,
    [jobIds],
  );
  return r.rows;
}
