import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type pg from "pg";
import type {
  SearchKeyColumns,
  SearchKeyCredentialRow,
  SearchKeyRecord,
} from "../db/repositories/search-keys.js";
import * as repo from "../db/repositories/search-keys.js";
import { inTransaction } from "../db/transaction.js";
import { InvalidInputError, isUuid, NotFoundError } from "./errors.js";
import type { SecretBox } from "./secret-box.js";

export type {
  GatewayJobRow,
  SearchKeyColumns,
  SearchKeyCredentialRow,
  SearchKeyRecord,
} from "../db/repositories/search-keys.js";

/**
 * Search keys of the gateway (/typesense-api; docs/gateway.md). A token is
 * `{public_id}{secret}`: 12 + 52 lower-case hex, 64 characters, the shape of
 * a Typesense key (typesense-js takes its first 4 characters as the prefix
 * of a scoped key, so public ids spread over 65536 prefixes).
 *
 * Unlike an api_keys secret, the token is stored SEALED (SecretBox, row id as
 * AAD), not hashed: verifying a scoped key needs the parent's secret as the
 * HMAC key. It is returned once, by createSearchKey, and never logged.
 */
const TOKEN_RE = /^([0-9a-f]{12})[0-9a-f]{52}$/;

/** The public id of a token of the search-key shape, else null. */
export function searchKeyPublicId(token: string): string | null {
  return TOKEN_RE.exec(token)?.[1] ?? null;
}

const aad = (id: string) => `api_search_keys:${id}`;

/** The row's token, unsealed (throws SecretBoxError under a wrong encryption key). */
export function openSearchKeyToken(box: SecretBox, row: SearchKeyCredentialRow): string {
  return box.open(row.token_sealed, aad(row.id));
}

/** Constant-time: compares SHA-256 digests (equal length whatever was presented). */
export function tokensEqual(presented: string, stored: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(stored).digest();
  return timingSafeEqual(a, b);
}

export async function listSearchKeys(pool: pg.Pool): Promise<SearchKeyRecord[]> {
  return repo.listSearchKeyRecords(pool);
}

export async function getSearchKey(pool: pg.Pool, id: string): Promise<SearchKeyRecord> {
  if (!isUuid(id)) throw new NotFoundError(`search key ${id} not found`);
  const row = await repo.findSearchKeyRecord(pool, id);
  if (!row) throw new NotFoundError(`search key ${id} not found`);
  return row;
}

/**
 * Every id must be a uuid naming an existing sync job (a typo would make a key that finds
 * nothing). A job deleted right after this check is harmless: the key stops answering for it.
 */
async function checkJobIds(db: pg.Pool, ids: readonly string[] | undefined): Promise<void> {
  if (ids === undefined) return;
  const bad = ids.find((x) => !isUuid(x));
  if (bad !== undefined) throw new InvalidInputError(`job id "${bad}" is not a uuid`, "job_ids");
  const known = await repo.existingJobIds(db, ids);
  const missing = ids.filter((x) => !known.has(x));
  if (missing.length > 0) {
    throw new InvalidInputError(`no sync job ${missing.join(", ")}`, "job_ids");
  }
}

export type CreateSearchKeyInput = SearchKeyColumns & { name: string; job_ids: string[] };

/**
 * Creates a key; `token` is the only time the secret leaves the process.
 * The id is chosen here so the token can be sealed with it as AAD in the
 * same insert (one statement: no row ever exists without its sealed token).
 */
export async function createSearchKey(
  pool: pg.Pool,
  box: SecretBox,
  input: CreateSearchKeyInput,
): Promise<{ key: SearchKeyRecord; token: string }> {
  await checkJobIds(pool, input.job_ids);
  const id = randomUUID();
  const publicId = randomBytes(6).toString("hex");
  const token = publicId + randomBytes(26).toString("hex");
  await repo.insertSearchKey(pool, {
    ...input,
    id,
    publicId,
    tokenSealed: box.seal(token, aad(id)),
  });
  return { key: await getSearchKey(pool, id), token };
}

export async function updateSearchKey(
  pool: pg.Pool,
  id: string,
  patch: SearchKeyColumns,
): Promise<SearchKeyRecord> {
  if (!isUuid(id)) throw new NotFoundError(`search key ${id} not found`);
  await checkJobIds(pool, patch.job_ids);
  return inTransaction(pool, async (db) => {
    if (!(await repo.updateSearchKeyColumns(db, id, patch))) {
      throw new NotFoundError(`search key ${id} not found`);
    }
    const row = await repo.findSearchKeyRecord(db, id);
    if (!row) throw new NotFoundError(`search key ${id} not found`);
    return row;
  });
}

export async function deleteSearchKey(pool: pg.Pool, id: string): Promise<void> {
  if (!isUuid(id)) throw new NotFoundError(`search key ${id} not found`);
  if (!(await repo.deleteSearchKeyRow(pool, id))) {
    throw new NotFoundError(`search key ${id} not found`);
  }
}

export const findSearchKeyByPublicId = repo.findSearchKeyByPublicId;
export const findSearchKeysByPrefix = repo.findSearchKeysByPrefix;
export const findEnabledJobsByIds = repo.findEnabledJobsByIds;
export const touchSearchKey = repo.touchSearchKey;
