import type { MiddlewareHandler } from "hono";
import type { AppEnv, CacheName } from "./env.js";

/**
 * Declares, on a route that changes what a cache holds, which caches a
 * successful call drops (replacing a match on path strings):
 * - "credentials": verified API keys (auth.ts), on API key writes;
 * - "bindings": search job resolution (control/search-binding.ts), on
 *   backend and job writes and run requests.
 * Dropped after the route answered below 400: the write is committed by then,
 * so a lookup after the drop reads the new state (one that raced the write is
 * handled by the cache itself: search-binding.ts).
 */
export function invalidates(...caches: CacheName[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.res.status < 400) c.get("invalidate")?.(caches);
  };
}
