import { createHash } from "node:crypto";
import type { Logger } from "../lifecycle/logger.js";
import {
  createTypesenseBackend,
  type TypesenseBackend,
  TypesenseError,
  withRetry,
} from "../typesense/index.js";
import type { BackendConnection } from "./backends.js";

/**
 * Typesense backends, one per saved backend VERSION (profile id + a version
 * of its connection, `connectionVersion`): editing a backend (new key, new
 * URL) yields a new client, and the old one is retired: closed at once, or,
 * while leased calls still run on it, when the last of them is released (a
 * full sync's import in flight finishes with the key it started with).
 * Unsaved backends (the test route) get a throwaway client via `once`.
 *
 * One instance serves the whole process (built in cli/: the API's search and
 * dead-letter retry, the console's facet lookup, the live backends of CDC and
 * full sync). That is safe because the version is derived from the connection
 * alone: every user of one saved backend asks for the same entry, so none
 * retires another's client.
 */
export interface TypesenseClients {
  forSaved(conn: BackendConnection): TypesenseBackend;
  /** Like forSaved, but the client is not closed before `release()` (see createLiveBackend). */
  lease(conn: BackendConnection): ClientLease;
  /** Runs fn with a fresh client and closes it afterwards. */
  once<T>(conn: BackendConnection, fn: (b: TypesenseBackend) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface ClientLease {
  backend: TypesenseBackend;
  release(): void;
}

interface Entry {
  profileId: string | null;
  backend: TypesenseBackend;
  /** Leases not yet released. */
  users: number;
  retired: boolean;
}

/**
 * The version of a saved backend's connection: profile id + a digest of
 * nodes, key and timeout (the key never appears in clear). Same connection,
 * same version, whoever reads it and whenever the row was last touched.
 */
export function connectionVersion(conn: BackendConnection): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([conn.nodes, conn.apiKey, conn.timeoutMs]))
    .digest("hex");
  return `${conn.profileId}:${digest}`;
}

/** More distinct backend versions than this and the oldest clients are closed. */
const MAX_CLIENTS = 32;

export function createTypesenseClients(log: Logger): TypesenseClients {
  // Map iteration order = insertion order: the first key is the oldest.
  const byVersion = new Map<string, Entry>();
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
    if (!hit) return;
    hit.retired = true;
    if (hit.users === 0) void hit.backend.close();
  };
  const entryFor = (conn: BackendConnection): Entry => {
    const version = connectionVersion(conn);
    const hit = byVersion.get(version);
    if (hit) return hit;
    for (const [k, v] of byVersion) if (v.profileId === conn.profileId) evict(k);
    while (byVersion.size >= MAX_CLIENTS) evict(byVersion.keys().next().value as string);
    const entry: Entry = {
      profileId: conn.profileId,
      backend: make(conn),
      users: 0,
      retired: false,
    };
    byVersion.set(version, entry);
    return entry;
  };
  return {
    forSaved: (conn) => entryFor(conn).backend,
    lease(conn) {
      const entry = entryFor(conn);
      entry.users++;
      let released = false;
      return {
        backend: entry.backend,
        release() {
          if (released) return;
          released = true;
          entry.users--;
          if (entry.retired && entry.users === 0) void entry.backend.close();
        },
      };
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
