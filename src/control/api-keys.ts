import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type pg from "pg";
import type { ApiKeyCredential, ApiKeyRecord } from "../db/repositories/api-keys.js";
import * as repo from "../db/repositories/api-keys.js";
import { type Db, inTransaction } from "../db/transaction.js";
import { InvalidInputError, isUuid, NotFoundError } from "./errors.js";

/**
 * Athena's gateway keys (seed 001): `ath_{public_id}.{secret}`, public_id =
 * 16 hex chars of a UUID v4, secret = two UUID v4s without dashes (64 hex).
 * Only `key_hash = hex(sha256("{key_salt}:{secret}"))` is stored; the full
 * token is returned once, by createApiKey.
 */
const TOKEN_RE = /^ath_([0-9a-f]{16})\.([0-9a-f]{64})$/;

export type { ApiKeyCredential, ApiKeyRecord } from "../db/repositories/api-keys.js";

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

export async function listApiKeys(pool: pg.Pool): Promise<ApiKeyRecord[]> {
  return repo.listApiKeyRecords(pool);
}

export async function getApiKey(pool: Db, id: string): Promise<ApiKeyRecord> {
  if (!isUuid(id)) throw new NotFoundError(`API key ${id} not found`);
  const row = await repo.findApiKeyRecord(pool, id);
  if (!row) throw new NotFoundError(`API key ${id} not found`);
  return row;
}

export async function listRights(pool: pg.Pool): Promise<{ name: string; description: string }[]> {
  return repo.listRightRows(pool);
}

async function assertRightsExist(db: Db, rights: readonly string[]): Promise<void> {
  if (rights.length === 0) return;
  const known = await repo.knownRightNames(db, rights);
  const missing = rights.filter((x) => !known.has(x));
  if (missing.length > 0) {
    throw new InvalidInputError(`unknown right(s): ${missing.join(", ")}`, "rights");
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
    const id = await repo.insertApiKey(db, {
      publicId,
      name: input.name,
      description: input.description ?? null,
      clientName: input.client_name ?? null,
      keySalt: salt,
      keyHash: hashSecret(salt, secret),
      expiresAt: input.expires_at ?? null,
    });
    await repo.replaceGrants(db, id, rights);
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
    const found = await repo.updateApiKeyColumns(db, id, patch);
    if (!found) throw new NotFoundError(`API key ${id} not found`);
    if (patch.rights !== undefined) {
      await assertRightsExist(db, patch.rights);
      await repo.replaceGrants(db, id, patch.rights);
    }
    return getApiKey(db, id);
  });
}

export async function deleteApiKey(pool: pg.Pool, id: string): Promise<void> {
  if (!isUuid(id)) throw new NotFoundError(`API key ${id} not found`);
  if (!(await repo.deleteApiKeyRow(pool, id))) throw new NotFoundError(`API key ${id} not found`);
}

/** One round trip: the key row by public_id with its granted rights. */
export async function findCredential(
  pool: pg.Pool,
  publicId: string,
): Promise<ApiKeyCredential | null> {
  return repo.findCredential(pool, publicId);
}

/**
 * Records use of a key. Called without awaiting by the auth middleware; at
 * most one write per key per 30 s so a hot key does not turn every search
 * into a control-DB write.
 */
export async function touchLastUsed(pool: pg.Pool, id: string): Promise<void> {
  await repo.touchLastUsed(pool, id);
}
