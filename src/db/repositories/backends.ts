import type pg from "pg";
import type { Db } from "../transaction.js";
import { type ClientScope, clientInScope } from "./scope-sql.js";

/**
 * Typed access to typesense_profiles (saved Typesense backends). Stores and
 * reads columns only: sealing/opening the key (control/secret-box.ts), URL
 * checks and the address-change rule stay in control/backends.ts.
 * api_key_stored is the SEALED value; this module never logs it.
 */

/** A saved Typesense backend as the API shows it: the key only as its last 4 chars. */
export interface BackendRecord {
  id: string;
  name: string;
  base_url: string;
  additional_node_urls: string[];
  api_key_last4: string;
  api_key_encrypted: boolean;
  timeout_ms: number;
  created_at: Date;
  updated_at: Date;
}

/** The columns of an insert; apiKeyStored is already sealed by the caller. */
export interface BackendInsert {
  id: string;
  name: string;
  baseUrl: string | undefined;
  additionalNodeUrls: string[];
  apiKeyStored: string;
  apiKeyLast4: string;
  timeoutMs: number | null;
}

const COLUMNS = `id, name, base_url, additional_node_urls, api_key_last4,
  api_key_stored like 'enc:%' as api_key_encrypted, timeout_ms, created_at, updated_at`;

export async function listBackendRecords(db: Db): Promise<BackendRecord[]> {
  const r = await db.query<BackendRecord>(
    `select ${COLUMNS} from typesense_profiles order by name`,
  );
  return r.rows;
}

export async function findBackendRecord(db: Db, id: string): Promise<BackendRecord | undefined> {
  const r = await db.query<BackendRecord>(
    `select ${COLUMNS} from typesense_profiles where id = $1`,
    [id],
  );
  return r.rows[0];
}

export async function insertBackend(db: Db, b: BackendInsert): Promise<void> {
  await db.query(
    `insert into typesense_profiles
       (id, name, base_url, additional_node_urls, api_key_stored, api_key_last4, timeout_ms)
     values ($1, $2, $3, $4, $5, $6, coalesce($7, 5000))`,
    [b.id, b.name, b.baseUrl, b.additionalNodeUrls, b.apiKeyStored, b.apiKeyLast4, b.timeoutMs],
  );
}

/**
 * Sets the given columns (names chosen by the caller from a fixed list, never
 * from input) and updated_at; returns the row count (0: no such backend).
 */
export async function updateBackendColumns(
  db: Db,
  id: string,
  columns: readonly (readonly [string, unknown])[],
): Promise<number> {
  const values: unknown[] = [id];
  const sets: string[] = [];
  for (const [col, v] of columns) {
    values.push(v);
    sets.push(`${col} = $${values.length}`);
  }
  const r = await db.query(
    `update typesense_profiles set ${[...sets, "updated_at = now()"].join(", ")} where id = $1`,
    values,
  );
  return r.rowCount ?? 0;
}

/** The stored address, row locked until the caller's transaction ends. */
export async function lockBackendAddress(
  client: pg.PoolClient,
  id: string,
): Promise<{ base_url: string; additional_node_urls: string[] } | undefined> {
  const r = await client.query<{ base_url: string; additional_node_urls: string[] }>(
    "select base_url, additional_node_urls from typesense_profiles where id = $1 for update",
    [id],
  );
  return r.rows[0];
}

/** Row count (0: no such backend); FK errors propagate to the caller. */
export async function deleteBackendRow(db: Db, id: string): Promise<number> {
  const r = await db.query("delete from typesense_profiles where id = $1", [id]);
  return r.rowCount ?? 0;
}

export interface BackendConnectionRow {
  base_url: string;
  additional_node_urls: string[];
  api_key_stored: string;
  timeout_ms: number;
}

export async function findBackendConnectionRow(
  db: Db,
  id: string,
): Promise<BackendConnectionRow | undefined> {
  const r = await db.query<BackendConnectionRow>(
    "select base_url, additional_node_urls, api_key_stored, timeout_ms from typesense_profiles where id = $1",
    [id],
  );
  return r.rows[0];
}

/** Collection names of the scope's jobs (enabled or not) on a saved backend. */
export async function scopedCollectionNames(
  db: Db,
  profileId: string,
  scope: ClientScope,
): Promise<string[]> {
  const r = await db.query<{ collection_name: string }>(
    `select collection_name from typesense_sync_jobs
      where profile_id = $1 and ${clientInScope("source_client_name", 2)}`,
    [profileId, scope],
  );
  return r.rows.map((x) => x.collection_name);
}
