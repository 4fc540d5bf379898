import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type pg from "pg";
import { type Db, inTransaction } from "../db/transaction.js";
import { InvalidInputError, isUuid, NotFoundError } from "./errors.js";

/**
 * Athena's gateway keys (seed 001): `ath_{public_id}.{secret}`, public_id =
 * 16 hex chars of a UUID v4, secret = two UUID v4s without dashes (64 hex).
 * Only `key_hash = hex(sha256("{key_salt}:{secret}"))` is stored; the full
 * token is returned once, by createApiKey.
 */
const TOKEN_RE = /^ath_([0-9a-f]{16})\.([0-9a-f]{64})$/;

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

export function parseGatewayToken(token: string): { publicId: string; secret: string } | null {
  const m = TOKEN_RE.exec(token);
  return m ? { publicId: m[1]!, secret: m[2]! } : null;
}

export function hashSecret(salt: string, secret: string): string {
  return createHash("sha256").update(`${salt}:${secret}`).digest("hex");
}

/** Constant-time check of a presented secret against the stored salt and hash. */
export function secretMatches(salt: string, secret: string, keyHash: string): boolean {
  const a = Buffer.from(hashSecret(salt, secret), "hex");
  const b = Buffer.from(keyHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

const RECORD_COLUMNS = `k.id, k.public_id, k.name, k.description, k.client_name, k.is_active,
  k.expires_at, k.last_used_at, k.created_at, k.updated_at,
  coalesce((select array_agg(g.right_name order by g.right_name)
              from api_key_right_grants g where g.api_key_id = k.id), '{}') as rights`;

export async function listApiKeys(pool: pg.Pool): Promise<ApiKeyRecord[]> {
  const r = await pool.query<ApiKeyRecord>(
    `select ${RECORD_COLUMNS} from api_keys k order by k.created_at, k.id`,
  );
  return r.rows;
}

export async function getApiKey(pool: Db, id: string): Promise<ApiKeyRecord> {
  if (!isUuid(id)) throw new NotFoundError(`API key ${id} not found`);
  const r = await pool.query<ApiKeyRecord>(
    `select ${RECORD_COLUMNS} from api_keys k where k.id = $1`,
    [id],
  );
  const row = r.rows[0];
  if (!row) throw new NotFoundError(`API key ${id} not found`);
  return row;
}

export async function listRights(pool: pg.Pool): Promise<{ name: string; description: string }[]> {
  const r = await pool.query<{ name: string; description: string }>(
    "select name, description from api_key_rights order by name",
  );
  return r.rows;
}

async function assertRightsExist(db: Db, rights: readonly string[]): Promise<void> {
  if (rights.length === 0) return;
  const r = await db.query<{ name: string }>(
    "select name from api_key_rights where name = any($1::text[])",
    [rights],
  );
  const known = new Set(r.rows.map((x: { name: string }) => x.name));
  const missing = rights.filter((x) => !known.has(x));
  if (missing.length > 0) {
    throw new InvalidInputError(`unknown right(s): ${missing.join(", ")}`, "rights");
  }
}

async function replaceGrants(db: Db, id: string, rights: readonly string[]) {
  await db.query("delete from api_key_right_grants where api_key_id = $1", [id]);
  if (rights.length > 0) {
    await db.query(
      `insert into api_key_right_grants (api_key_id, right_name)
       select $1, unnest($2::text[]) on conflict do nothing`,
      [id, [...new Set(rights)]],
    );
  }
}

export interface CreateApiKeyInput {
  name: string;
  description?: string | null | undefined;
  client_name?: string | null | undefined;
  expires_at?: Date | null | undefined;
  rights?: string[] | undefined;
}

/** Creates a key; `token` is the only time the secret exists outside the caller's hands. */
export async function createApiKey(
  pool: pg.Pool,
  input: CreateApiKeyInput,
): Promise<{ key: ApiKeyRecord; token: string }> {
  const publicId = randomUUID().replaceAll("-", "").slice(0, 16);
  const secret = randomUUID().replaceAll("-", "") + randomUUID().replaceAll("-", "");
  const salt = randomBytes(16).toString("hex");
  const rights = input.rights ?? [];
  const key = await inTransaction(pool, async (db) => {
    await assertRightsExist(db, rights);
    const ins = await db.query<{ id: string }>(
      `insert into api_keys (public_id, name, description, client_name, key_salt, key_hash, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7) returning id`,
      [
        publicId,
        input.name,
        input.description ?? null,
        input.client_name ?? null,
        salt,
        hashSecret(salt, secret),
        input.expires_at ?? null,
      ],
    );
    const id = ins.rows[0]!.id;
    await replaceGrants(db, id, rights);
    return getApiKey(db, id);
  });
  return { key, token: `ath_${publicId}.${secret}` };
}

export interface UpdateApiKeyInput {
  name?: string | undefined;
  description?: string | null | undefined;
  client_name?: string | null | undefined;
  is_active?: boolean | undefined;
  expires_at?: Date | null | undefined;
  /** Replaces the key's grants when given. */
  rights?: string[] | undefined;
}

export async function updateApiKey(
  pool: pg.Pool,
  id: string,
  patch: UpdateApiKeyInput,
): Promise<ApiKeyRecord> {
  if (!isUuid(id)) throw new NotFoundError(`API key ${id} not found`);
  return inTransaction(pool, async (db) => {
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
    if (upd.rowCount === 0) throw new NotFoundError(`API key ${id} not found`);
    if (patch.rights !== undefined) {
      await assertRightsExist(db, patch.rights);
      await replaceGrants(db, id, patch.rights);
    }
    return getApiKey(db, id);
  });
}

export async function deleteApiKey(pool: pg.Pool, id: string): Promise<void> {
  if (!isUuid(id)) throw new NotFoundError(`API key ${id} not found`);
  const r = await pool.query("delete from api_keys where id = $1", [id]);
  if (r.rowCount === 0) throw new NotFoundError(`API key ${id} not found`);
}

/** One round trip: the key row by public_id with its granted rights. */
export async function findCredential(
  pool: pg.Pool,
  publicId: string,
): Promise<ApiKeyCredential | null> {
  const r = await pool.query<ApiKeyCredential>(
    `select k.id, k.public_id, k.client_name, k.key_salt, k.key_hash, k.is_active, k.expires_at,
            coalesce(array_agg(g.right_name) filter (where g.right_name is not null), '{}') as rights
       from api_keys k left join api_key_right_grants g on g.api_key_id = k.id
      where k.public_id = $1
      group by k.id`,
    [publicId],
  );
  return r.rows[0] ?? null;
}

/**
 * Records use of a key. Called without awaiting by the auth middleware; at
 * most one write per key per 30 s so a hot key does not turn every search
 * into a control-DB write.
 */
export async function touchLastUsed(pool: pg.Pool, id: string): Promise<void> {
  await pool.query(
    `update api_keys set last_used_at = now()
      where id = $1 and (last_used_at is null or last_used_at < now() - interval '30 seconds')`,
    [id],
  );
}
