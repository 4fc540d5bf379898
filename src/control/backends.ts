import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { BackendRecord } from "../db/repositories/backends.js";
import * as repo from "../db/repositories/backends.js";
import { inTransaction } from "../db/transaction.js";
import type { ClientScope } from "./client-scope.js";
import { ConflictError, InvalidInputError, isUuid, NotFoundError, pgCode } from "./errors.js";
import type { SecretBox } from "./secret-box.js";

export type { BackendRecord } from "../db/repositories/backends.js";

/** What a Typesense client needs; holds the plaintext key, so it never leaves src/. */
export interface BackendConnection {
  profileId: string | null;
  nodes: string[];
  apiKey: string;
  timeoutMs: number;
}

export interface BackendPolicy {
  box: SecretBox;
  /** typesense.allow_http: false rejects http:// node URLs. */
  allowHttp: boolean;
}

/** Rejects anything but an absolute http(s) URL, and http:// unless allowed. */
export function checkNodeUrl(url: string, allowHttp: boolean, field: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidInputError(`${field} is not a valid URL`, field);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new InvalidInputError(`${field} must start with https:// (or http://)`, field);
  }
  if (u.protocol === "http:" && !allowHttp) {
    throw new InvalidInputError(
      `${field} uses http://, which is refused because typesense.allow_http is false; use an https:// URL or set typesense.allow_http: true`,
      field,
    );
  }
  if (u.username || u.password) {
    throw new InvalidInputError(`${field} must not contain credentials`, field);
  }
  return url.replace(/\/+$/, "");
}

/** Last 4 characters, but nothing for short keys (4 of 8 would give half away). */
export function last4(key: string): string {
  return key.length >= 12 ? key.slice(-4) : "";
}

export async function listBackends(pool: pg.Pool): Promise<BackendRecord[]> {
  return repo.listBackendRecords(pool);
}

export async function getBackend(pool: pg.Pool, id: string): Promise<BackendRecord> {
  if (!isUuid(id)) throw new NotFoundError(`backend ${id} not found`);
  const row = await repo.findBackendRecord(pool, id);
  if (!row) throw new NotFoundError(`backend ${id} not found`);
  return row;
}

export interface BackendInput {
  name: string;
  base_url: string;
  additional_node_urls?: string[] | undefined;
  api_key: string;
  timeout_ms?: number | undefined;
}

function checkedNodes(input: Partial<BackendInput>, allowHttp: boolean) {
  return {
    base_url:
      input.base_url === undefined
        ? undefined
        : checkNodeUrl(input.base_url, allowHttp, "base_url"),
    additional_node_urls: input.additional_node_urls?.map((u, i) =>
      checkNodeUrl(u, allowHttp, `additional_node_urls.${i}`),
    ),
  };
}

function uniqueName(e: unknown, name: string | undefined): never {
  if (pgCode(e) === "23505") throw new ConflictError(`a backend named "${name}" already exists`);
  throw e;
}

export async function createBackend(
  pool: pg.Pool,
  policy: BackendPolicy,
  input: BackendInput,
): Promise<BackendRecord> {
  const nodes = checkedNodes(input, policy.allowHttp);
  const id = randomUUID();
  try {
    await repo.insertBackend(pool, {
      id,
      name: input.name,
      baseUrl: nodes.base_url,
      additionalNodeUrls: nodes.additional_node_urls ?? [],
      apiKeyStored: policy.box.seal(input.api_key, id),
      apiKeyLast4: last4(input.api_key),
      timeoutMs: input.timeout_ms ?? null,
    });
  } catch (e) {
    uniqueName(e, input.name);
  }
  return getBackend(pool, id);
}

export async function updateBackend(
  pool: pg.Pool,
  policy: BackendPolicy,
  id: string,
  patch: Partial<BackendInput>,
): Promise<BackendRecord> {
  if (!isUuid(id)) throw new NotFoundError(`backend ${id} not found`);
  const nodes = checkedNodes(patch, policy.allowHttp);
  const columns: [string, unknown][] = [];
  const set = (col: string, v: unknown) => {
    columns.push([col, v]);
  };
  if (patch.name !== undefined) set("name", patch.name);
  if (nodes.base_url !== undefined) set("base_url", nodes.base_url);
  if (nodes.additional_node_urls !== undefined)
    set("additional_node_urls", nodes.additional_node_urls);
  if (patch.timeout_ms !== undefined) set("timeout_ms", patch.timeout_ms);
  if (patch.api_key !== undefined) {
    set("api_key_stored", policy.box.seal(patch.api_key, id));
    set("api_key_last4", last4(patch.api_key));
  }
  let count = 0;
  try {
    // Ordering that makes the key check safe: the row is locked (FOR UPDATE)
    // before the stored address is compared, and updated in the same
    // transaction, so a concurrent PATCH cannot move the address between the
    // check and the write.
    count = await inTransaction(pool, async (client) => {
      if (patch.api_key === undefined) await refuseNewAddress(client, id, nodes);
      return repo.updateBackendColumns(client, id, columns);
    });
  } catch (e) {
    uniqueName(e, patch.name);
  }
  if (count === 0) throw new NotFoundError(`backend ${id} not found`);
  return getBackend(pool, id);
}

/**
 * A saved key never leaves for a new host: a PATCH that changes base_url or
 * the node list must carry the key for the new address (whoever can edit a
 * backend could otherwise point it at their own server and receive the key).
 * Giving the stored value again is not a change.
 */
async function refuseNewAddress(
  client: pg.PoolClient,
  id: string,
  nodes: { base_url: string | undefined; additional_node_urls: string[] | undefined },
): Promise<void> {
  if (nodes.base_url === undefined && nodes.additional_node_urls === undefined) return;
  const row = await repo.lockBackendAddress(client, id);
  if (!row) return; // the update finds nothing either: 404
  const sameBase = nodes.base_url === undefined || nodes.base_url === row.base_url;
  const sameNodes =
    nodes.additional_node_urls === undefined ||
    nodes.additional_node_urls.join("\n") === row.additional_node_urls.join("\n");
  if (!sameBase || !sameNodes) {
    throw new InvalidInputError("api_key is required when the address changes", "api_key");
  }
}

export async function deleteBackend(pool: pg.Pool, id: string): Promise<void> {
  if (!isUuid(id)) throw new NotFoundError(`backend ${id} not found`);
  try {
    if ((await repo.deleteBackendRow(pool, id)) === 0)
      throw new NotFoundError(`backend ${id} not found`);
  } catch (e) {
    if (pgCode(e) === "23503" || pgCode(e) === "23001") {
      throw new ConflictError(`backend ${id} is used by sync jobs; delete or move them first`);
    }
    throw e;
  }
}

/** Connection details of a saved backend, API key decrypted. */
export async function backendConnection(
  pool: pg.Pool,
  box: SecretBox,
  id: string,
): Promise<BackendConnection> {
  if (!isUuid(id)) throw new NotFoundError(`backend ${id} not found`);
  const row = await repo.findBackendConnectionRow(pool, id);
  if (!row) throw new NotFoundError(`backend ${id} not found`);
  return {
    profileId: id,
    nodes: [row.base_url, ...row.additional_node_urls],
    apiKey: box.open(row.api_key_stored, id),
    timeoutMs: row.timeout_ms,
  };
}

/**
 * The collections a scope may see on saved backend `profileId`: those its
 * own jobs (enabled or not) write to. null when unscoped (every collection).
 * A saved backend is shared by every client, so a client-bound caller must
 * not learn the names or sizes of other clients' collections through it;
 * (profile_id, collection_name) is unique, so a name here belongs to the
 * scope's job alone.
 */
export async function collectionsInScope(
  pool: pg.Pool,
  profileId: string,
  scope: ClientScope,
): Promise<Set<string> | null> {
  if (scope === null) return null;
  return new Set(await repo.scopedCollectionNames(pool, profileId, scope));
}
