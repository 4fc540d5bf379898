import type { Logger } from "../lifecycle/logger.js";
import { type TypesenseBackend, TypesenseError } from "../typesense/index.js";
import type { BackendConnection } from "./backends.js";
import { NotFoundError } from "./errors.js";
import type { ClientLease, TypesenseClients } from "./typesense-clients.js";

/** A saved backend as it is now: a version of its connection, and the connection. */
export interface BackendVersion {
  version: string;
  conn: BackendConnection;
}

export interface LiveBackendOptions {
  profileId: string;
  /** The version read when the backend was first asked for. */
  initial: BackendVersion;
  /** Re-reads the saved backend from the control DB (key decrypted). */
  load: () => Promise<BackendVersion>;
  clients: TypesenseClients;
  /** How old the last read may be before a call reads again, ms. */
  refreshMs: number;
  log: Logger;
  now?: () => number;
}

/**
 * A TypesenseBackend that follows its saved backend: before a call it re-reads
 * the backend from the control DB when the last read is older than
 * `refreshMs`, and runs the call on the client of the version it found. So a
 * new key, URL, node list or timeout reaches running CDC streams and full
 * syncs within `refreshMs`, on every instance (each reads the control DB
 * itself; no signal between instances is needed), without a restart.
 *
 * - A call refused with 401/403 re-reads at once and, when the backend changed
 *   meanwhile, runs once more with the new client: a refused request wrote
 *   nothing, so sending it again is safe for any call.
 * - A call holds a lease on its client: a client retired by a newer version is
 *   closed only when its last call is done (an import in flight is not cut).
 * - When the control DB cannot be read, the last version read is used (writes
 *   go on through a control-DB blip); a deleted backend fails the call.
 */
export function createLiveBackend(o: LiveBackendOptions): TypesenseBackend {
  const now = o.now ?? Date.now;
  let current: BackendVersion = o.initial;
  let checkedAt = now();
  let pending: Promise<BackendVersion> | undefined;

  async function read(): Promise<BackendVersion> {
    try {
      const v = await o.load();
      if (current.version !== v.version) {
        o.log.info(
          { component: "typesense", profileId: o.profileId },
          "saved backend changed; new calls use its new connection",
        );
      }
      current = v;
      return v;
    } catch (e) {
      if (e instanceof NotFoundError) throw e;
      o.log.warn(
        { component: "typesense", profileId: o.profileId, err: { message: String(e) } },
        "cannot re-read the saved backend; going on with the last one read",
      );
      return current;
    } finally {
      checkedAt = now();
    }
  }

  /** The version to use: the cached one while fresh, else one shared re-read. */
  function resolve(force: boolean): Promise<BackendVersion> {
    if (!force && now() - checkedAt < o.refreshMs) return Promise.resolve(current);
    pending ??= read().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  const lease = (v: BackendVersion): ClientLease => o.clients.lease(v.conn);

  async function use<T>(fn: (b: TypesenseBackend) => Promise<T>): Promise<T> {
    const v = await resolve(false);
    try {
      return await withLease(lease(v), fn);
    } catch (e) {
      if (!isKeyRefused(e)) throw e;
      const fresh = await resolve(true);
      if (fresh.version === v.version) throw e;
      return withLease(lease(fresh), fn);
    }
  }

  /** Streams run on one client from start to end (no retry: lines may have been yielded). */
  async function* stream<T>(fn: (b: TypesenseBackend) => AsyncIterable<T>): AsyncIterable<T> {
    const l = lease(await resolve(false));
    try {
      yield* fn(l.backend);
    } finally {
      l.release();
    }
  }

  return {
    get nodes() {
      return current.conn.nodes;
    },
    health: () => use((b) => b.health()),
    verifyKey: (opt) => use((b) => b.verifyKey(opt)),
    listCollections: (opt) => use((b) => b.listCollections(opt)),
    getCollection: (name, opt) => use((b) => b.getCollection(name, opt)),
    createCollection: (schema, opt) => use((b) => b.createCollection(schema, opt)),
    patchCollectionFields: (name, fields, opt) =>
      use((b) => b.patchCollectionFields(name, fields, opt)),
    patchCollectionMetadata: (name, metadata, opt) =>
      use((b) => b.patchCollectionMetadata(name, metadata, opt)),
    deleteCollection: (name, opt) => use((b) => b.deleteCollection(name, opt)),
    upsertAlias: (name, collection, opt) => use((b) => b.upsertAlias(name, collection, opt)),
    getAlias: (name, opt) => use((b) => b.getAlias(name, opt)),
    listAliases: (opt) => use((b) => b.listAliases(opt)),
    deleteAlias: (name, opt) => use((b) => b.deleteAlias(name, opt)),
    importDocuments: (c, docs, opt) => use((b) => b.importDocuments(c, docs, opt)),
    importJsonLines: (c, lines, ids, opt) => use((b) => b.importJsonLines(c, lines, ids, opt)),
    exportDocuments: (c, opt) => use((b) => b.exportDocuments(c, opt)),
    iterateDocuments: (c, opt) => stream((b) => b.iterateDocuments(c, opt)),
    exportIds: (c, opt) => stream((b) => b.exportIds(c, opt)),
    getDocuments: (c, ids, opt) => use((b) => b.getDocuments(c, ids, opt)),
    deleteDocuments: (c, ids, opt) => use((b) => b.deleteDocuments(c, ids, opt)),
    truncate: (c, opt) => use((b) => b.truncate(c, opt)),
    search: (c, params, opt) => use((b) => b.search(c, params, opt)),
    forward: (spec, opt) => use((b) => b.forward(spec, opt)),
    ensureCollection: (desired, opt) => use((b) => b.ensureCollection(desired, opt)),
    // the clients belong to TypesenseClients, which closes them
    close: async () => {},
  };
}

async function withLease<T>(l: ClientLease, fn: (b: TypesenseBackend) => Promise<T>): Promise<T> {
  try {
    return await fn(l.backend);
  } finally {
    l.release();
  }
}

function isKeyRefused(e: unknown): boolean {
  return e instanceof TypesenseError && (e.status === 401 || e.status === 403);
}
