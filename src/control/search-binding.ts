import type pg from "pg";
import { findEnabledBindings, type SearchTarget } from "../db/repositories/search-bindings.js";
import type { BackendConnection } from "./backends.js";
import type { ClientScope } from "./client-scope.js";
import { ConflictError, isUuid, NotFoundError } from "./errors.js";
import type { SecretBox } from "./secret-box.js";

export type { SearchTarget } from "../db/repositories/search-bindings.js";

export interface SearchBinding {
  jobId: string;
  collection: string;
  queryableFields: string[];
  /** The Typesense client for it: TypesenseClients.forSaved(backend). */
  backend: BackendConnection;
}

/**
 * Resolves the ENABLED job a search goes to, with its backend, in one query
 * (this is on the hot path of every search).
 *   no enabled job matches      -> NotFoundError (404)
 *   several enabled jobs match  -> ConflictError naming them (409): pass job_id
 */
export async function resolveSearchBinding(
  pool: pg.Pool,
  box: SecretBox,
  target: SearchTarget,
  scope: ClientScope,
): Promise<SearchBinding> {
  const byId = "job_id" in target;
  if (byId && !isUuid(target.job_id)) {
    throw new NotFoundError(`no enabled sync job ${target.job_id}`);
  }
  const rows = await findEnabledBindings(pool, target, scope);
  const what = byId
    ? `sync job ${target.job_id}`
    : `${target.source_client_name}/${target.source_schema_name}.${target.source_table_name}`;
  const row = rows[0];
  if (!row) throw new NotFoundError(`no enabled sync job for ${what}`);
  if (rows.length > 1) {
    throw new ConflictError(
      `${rows.length} enabled sync jobs match ${what} (${rows.map((x) => x.id).join(", ")}); pass job_id`,
    );
  }
  return {
    jobId: row.id,
    collection: row.collection_name,
    queryableFields: row.queryable_fields,
    backend: {
      profileId: row.profile_id,
      nodes: [row.base_url, ...row.additional_node_urls],
      apiKey: box.open(row.api_key_stored, row.profile_id),
      timeoutMs: row.timeout_ms,
    },
  };
}

/**
 * Successful resolutions kept for `ttlMs`, because a search must not pay a
 * control-DB round trip (the overhead target is <= 1 ms over Typesense).
 * Staleness is bounded: writes through this process's API call invalidate(),
 * and changes made elsewhere (another instance, SQL) show after ttlMs at most.
 * Misses (404/409) are never cached.
 */
export interface SearchBindingCache {
  /** A scoped caller finds only its client's jobs (404 for the rest, as for unknown ones). */
  resolve(target: SearchTarget, scope: ClientScope): Promise<SearchBinding>;
  invalidate(): void;
}

export function createSearchBindingCache(
  pool: pg.Pool,
  box: SecretBox,
  opts: { ttlMs: number; maxEntries?: number },
): SearchBindingCache {
  const entries = new Map<string, { binding: SearchBinding; until: number }>();
  let generation = 0;
  return {
    async resolve(target, scope) {
      // the scope is part of the key: a hit for one client is never served to another
      const key = JSON.stringify([scope, target]);
      const now = Date.now();
      const hit = entries.get(key);
      if (hit && hit.until > now) return hit.binding;
      const gen = generation;
      const binding = await resolveSearchBinding(pool, box, target, scope);
      // an invalidate() during the query means the row may be older than the write
      if (gen === generation) {
        if (entries.size >= (opts.maxEntries ?? 10_000)) entries.clear();
        entries.set(key, { binding, until: now + opts.ttlMs });
      }
      return binding;
    },
    invalidate() {
      generation++;
      entries.clear();
    },
  };
}
