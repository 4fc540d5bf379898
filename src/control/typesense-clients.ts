import type { Logger } from "../lifecycle/logger.js";
import {
  createTypesenseBackend,
  type TypesenseBackend,
  TypesenseError,
  withRetry,
} from "../typesense/index.js";
import type { BackendConnection } from "./backends.js";

/**
 * Typesense backends for request handlers, one per saved backend VERSION
 * (profile id + updated_at): editing a backend (new key, new URL) yields a new
 * client, and the old one is closed. Unsaved backends (the test route) get a
 * throwaway client via `once`.
 */
export interface TypesenseClients {
  forSaved(version: string, conn: BackendConnection): TypesenseBackend;
  /** Runs fn with a fresh client and closes it afterwards. */
  once<T>(conn: BackendConnection, fn: (b: TypesenseBackend) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** More distinct backend versions than this and the oldest clients are closed. */
const MAX_CLIENTS = 32;

export function createTypesenseClients(log: Logger): TypesenseClients {
  // Map iteration order = insertion order: the first key is the oldest.
  const byVersion = new Map<string, { profileId: string | null; backend: TypesenseBackend }>();
  const make = (conn: BackendConnection) =>
    createTypesenseBackend({
      nodes: conn.nodes,
      apiKey: conn.apiKey,
      timeoutMs: conn.timeoutMs,
      log,
    });
  const evict = (key: string) => {
    const hit = byVersion.get(key);
    byVersion.delete(key);
    void hit?.backend.close();
  };
  return {
    forSaved(version, conn) {
      const hit = byVersion.get(version);
      if (hit) return hit.backend;
      for (const [k, v] of byVersion) if (v.profileId === conn.profileId) evict(k);
      while (byVersion.size >= MAX_CLIENTS) evict(byVersion.keys().next().value as string);
      const backend = make(conn);
      byVersion.set(version, { profileId: conn.profileId, backend });
      return backend;
    },
    async once(conn, fn) {
      const b = make(conn);
      try {
        return await fn(b);
      } finally {
        await b.close();
      }
    },
    async close() {
      await Promise.allSettled([...byVersion.values()].map((v) => v.backend.close()));
      byVersion.clear();
    },
  };
}

/**
 * For idempotent calls made on behalf of an HTTP request (search, list,
 * upsert/delete of one document): one quick second attempt when the first
 * failed at the connection level (e.g. a pooled keep-alive socket the server
 * had closed). Timeouts and 5xx are not retried here: the caller gets
 * 504/503 at once instead of waiting twice.
 */
export function onceMoreOnNetworkError<T>(fn: () => Promise<T>): Promise<T> {
  return withRetry(fn, {
    maxAttempts: 2,
    baseMs: 25,
    retryIf: (e) => e instanceof TypesenseError && e.kind === "network",
  });
}
