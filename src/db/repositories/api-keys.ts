import type { Db } from "../transaction.js";

/**
 * Typed access to api_keys, api_key_rights and api_key_right_grants (seed 001).
 * Only stores and reads columns: token format, hashing and the constant-time
 * compare stay in control/api-keys.ts. key_salt / key_hash are read only by
 * findCredential and never logged.
 */

export interface ApiKeyRecord {
  id: string;
  public_id: string;
  name: string;
  description: string | null;
  client_name: string | null;
  is_active: boolean;
  expires_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
  updated_at: Date;
  rights: string[];
}

/** What the auth middleware needs; includes the salt and hash, never leaves src/. */
export interface ApiKeyCredential {
  id: string;
  public_id: string;
  client_name: string | null;
  key_salt: string;
  key_hash: string;
  is_active: boolean;
  expires_at: Date | null;
  rights: string[];
}

/** The columns of an insert; key_hash is already hashed by the caller. */
export interface ApiKeyInsert {
  publicId: string;
  name: string;
  description: string | null;
  clientName: string | null;
  keySalt: string;
  keyHash: string;
  expiresAt: Date | null;
}

/** Columns a patch may set (undefined = leave as is). */
export interface ApiKeyPatch {
  name?: string | undefined;
  description?: string | null | undefined;
  client_name?: string | null | undefined;
  is_active?: boolean | undefined;
  expires_at?: Date | null | undefined;
}

const RECORD_COLUMNS = `k.id, k.public_id, k.name, k.description, k.client_name, k.is_active,
  k.expires_at, k.last_used_at, k.created_at, k.updated_at,
  coalesce((select array_agg(g.right_name order by g.right_name)
              from api_key_right_grants g where g.api_key_id = k.id), '{}') as rights`;

export async function listApiKeyRecords(db: Db): Promise<ApiKeyRecord[]> {
  const r = await db.query<ApiKeyRecord>(
    `select ${RECORD_COLUMNS} from api_keys k order by k.created_at, k.id`,
  );
  return r.rows;
}

export async function findApiKeyRecord(db: Db, id: string): Promise<ApiKeyRecord | null> {
  const r = await db.query<ApiKeyRecord>(
    `select ${RECORD_COLUMNS} from api_keys k where k.id = $1`,
    [id],
  );
  return r.rows[0] ?? null;
}

export async function listRightRows(db: Db): Promise<{ name: string; description: string }[]> {
  const r = await db.query<{ name: string; description: string }>(
    "select name, description from api_key_rights order by name",
  );
  return r.rows;
}

/** The names among `rights` that exist in api_key_rights. */
export async function knownRightNames(db: Db, rights: readonly string[]): Promise<Set<string>> {
  const r = await db.query<{ name: string }>(
    "select name from api_key_rights where name = any($1::text[])",
    [rights],
  );
  return new Set(r.rows.map((x) => x.name));
}

/** Replaces a key's grants (delete then insert: run inside the caller's transaction). */
export async function replaceGrants(db: Db, id: string, rights: readonly string[]): Promise<void> {
  await db.query("delete from api_key_right_grants where api_key_id = $1", [id]);
  if (rights.length > 0) {
    await db.query(
      `insert into api_key_right_grants (api_key_id, right_name)
       select $1, unnest($2::text[]) on conflict do nothing`,
      [id, [...new Set(rights)]],
    );
  }
}

export async function insertApiKey(db: Db, k: ApiKeyInsert): Promise<string> {
  const ins = await db.query<{ id: string }>(
    `insert into api_keys (public_id, name, description, client_name, key_salt, key_hash, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [k.publicId, k.name, k.description, k.clientName, k.keySalt, k.keyHash, k.expiresAt],
  );
  return ins.rows[0]!.id;
}

/** Sets the given columns and updated_at; false when no such key. */
export async function updateApiKeyColumns(
  db: Db,
  id: string,
  patch: ApiKeyPatch,
): Promise<boolean> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const col of ["name", "description", "client_name", "is_active", "expires_at"] as const) {
    if (patch[col] !== undefined) {
      values.push(patch[col]);
      sets.push(`${col} = $${values.length}`);
    }
  }
  const upd = await db.query(
    `update api_keys set ${[...sets, "updated_at = now()"].join(", ")} where id = $1`,
    values,
  );
  return (upd.rowCount ?? 0) > 0;
}

/** false when no such key. */
export async function deleteApiKeyRow(db: Db, id: string): Promise<boolean> {
  const r = await db.query("delete from api_keys where id = $1", [id]);
  return (r.rowCount ?? 0) > 0;
}

/** One round trip: the key row by public_id with its granted rights. */
export async function findCredential(db: Db, publicId: string): Promise<ApiKeyCredential | null> {
  const r = await db.query<ApiKeyCredential>(
    `select k.id, k.public_id, k.client_name, k.key_salt, k.key_hash, k.is_active, k.expires_at,
            coalesce(array_agg(g.right_name) filter (where g.right_name is not null), '{}') as rights
       from api_keys k left join api_key_right_grants g on g.api_key_id = k.id
      where k.public_id = $1
      group by k.id`,
    [publicId],
  );
  return r.rows[0] ?? null;
}

/** At most one write per key per 30 s (the condition is in the statement). */
export async function touchLastUsed(db: Db, id: string): Promise<void> {
  await db.query(
    `update api_keys set last_used_at = now()
      where id = $1 and (last_used_at is null or last_used_at < now() - interval '30 seconds')`,
    [id],
  );
}
