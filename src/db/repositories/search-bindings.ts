import type { Db } from "../transaction.js";
import { type ClientScope, clientInScope } from "./scope-sql.js";

/** seed 000: a search names its job directly, or by Athena client + table. */
export type SearchTarget =
  | { job_id: string }
  | { source_client_name: string; source_schema_name: string; source_table_name: string };

/**
 * An enabled job a search may go to, joined with its backend row. The api key
 * is the SEALED column value (control/secret-box.ts opens it): this module
 * only reads the column and never logs it.
 */
export interface SearchBindingRow {
  id: string;
  collection_name: string;
  queryable_fields: string[];
  profile_id: string;
  base_url: string;
  additional_node_urls: string[];
  api_key_stored: string;
  timeout_ms: number;
  profile_updated_at: Date;
}

/**
 * Up to 5 enabled jobs matching the target inside the scope, oldest first, in
 * one query (the hot path of every search). The caller decides what none or
 * several mean. A `job_id` target must already be a valid uuid.
 */
export async function findEnabledBindings(
  db: Db,
  target: SearchTarget,
  scope: ClientScope,
): Promise<SearchBindingRow[]> {
  const byId = "job_id" in target;
  const r = await db.query<SearchBindingRow>(
    `select j.id, j.collection_name, j.queryable_fields, j.profile_id,
            p.base_url, p.additional_node_urls, p.api_key_stored, p.timeout_ms,
            p.updated_at as profile_updated_at
       from typesense_sync_jobs j join typesense_profiles p on p.id = j.profile_id
      where j.enabled and ${clientInScope("j.source_client_name", byId ? 2 : 4)} and ${
        byId
          ? "j.id = $1"
          : "j.source_client_name = $1 and j.source_schema_name = $2 and j.source_table_name = $3"
      }
      order by j.created_at limit 5`,
    byId
      ? [target.job_id, scope]
      : [target.source_client_name, target.source_schema_name, target.source_table_name, scope],
  );
  return r.rows;
}
