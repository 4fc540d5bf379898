import { UNSCOPED } from "../control/client-scope.js";
import { resolveSearchBinding } from "../control/search-binding.js";
import type { ConsoleHostDeps } from "./host.js";

const TTL_MS = 30_000;

/**
 * Facet fields (facet: true) of a job's collection, for Live search's facet
 * panel. Resolved with the same binding the search route uses and read from
 * Typesense's schema; only field names leave this function, so a search-only
 * session learns nothing its own searches would not show. Cached per job for
 * 30 s; a lookup failure means "no facets", never a failed page. The
 * SecretBox and the clients are the process's (ConsoleHostDeps).
 */
export function createFacetLookup(deps: ConsoleHostDeps): (jobId: string) => Promise<string[]> {
  const { box, clients } = deps;
  const cache = new Map<string, { fields: string[]; until: number }>();
  return async (jobId) => {
    const hit = cache.get(jobId);
    if (hit && hit.until > Date.now()) return hit.fields;
    let fields: string[] = [];
    try {
      // unscoped: jobId is one of the session's own job options (search.tsx, scoped there)
      const b = await resolveSearchBinding(deps.pools.control, box, { job_id: jobId }, UNSCOPED);
      const coll = await clients.once(b.backend, (t) => t.getCollection(b.collection));
      fields = (coll?.fields ?? [])
        .filter((f) => f.facet === true && !f.name.includes(".*"))
        .map((f) => f.name)
        .slice(0, 8);
    } catch {
      fields = [];
    }
    if (cache.size > 1000) cache.clear();
    cache.set(jobId, { fields, until: Date.now() + TTL_MS });
    return fields;
  };
}
