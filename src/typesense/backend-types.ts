import type { Logger } from "../lifecycle/logger.js";
import type { ImportAction, ImportLineResult } from "./import-results.js";
import type {
  CollectionSchema,
  Document,
  DocumentValue,
  JsonLines,
  TypesenseField,
} from "./types.js";

export interface TypeConflict {
  field: string;
  /** Type in Typesense now. */
  existing: string;
  /** Type the mapping wants. */
  desired: string;
}

export interface EnsureCollectionResult {
  created: boolean;
  /** The collection existed without this job's mark and was marked for it (owner.adopt). */
  adopted: boolean;
  /** Fields PATCHed in because the source gained columns since the collection was created. */
  addedFields: string[];
  /**
   * Fields whose type differs from the mapping. Never coerced or re-created
   * here: changing a type means dropping the field's data, which is an
   * operator's decision (drop + re-add, or recreate the collection).
   */
  typeConflicts: TypeConflict[];
}

export interface TypesenseBackendOptions {
  /** Base URLs of the nodes ("http://host:8108"); used round-robin with failover. */
  nodes: readonly string[];
  apiKey: string;
  /** Timeout per request in ms (until the whole answer is read; per-call override for big batches). */
  timeoutMs: number;
  log?: Logger;
  /** Upper bound for one URL-encoded `id:[...]` filter; longer id lists are chunked. Default 3000. */
  maxIdFilterLength?: number;
  /** How long a node that failed at the network level or with 5xx is avoided, ms. Default 10 000. */
  nodeCooldownMs?: number;
}

export interface NodeHealth {
  node: string;
  ok: boolean;
  /** The node answered HTTP (any status); false when it could not be reached or timed out. */
  reachable: boolean;
  latencyMs: number;
  error?: string;
}

export interface HealthResult {
  /** At least one node answered /health with ok: true. */
  ok: boolean;
  /** Latency of the fastest healthy node (of the fastest answer when none is healthy). */
  latencyMs: number;
  nodes: NodeHealth[];
}

/** GET /collections/:c as Typesense returns it. */
export interface CollectionSummary {
  name: string;
  num_documents: number;
  created_at?: number;
  fields: TypesenseField[];
  enable_nested_fields?: boolean;
  default_sorting_field?: string;
  /** Present only when non-empty (the sidecar's ownership mark, collection-owner.ts). */
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * An alias as Typesense answers it (PUT/GET/DELETE /aliases/:a, GET /aliases): a name that
 * every collection path resolves to `collection_name` when no collection holds the name.
 */
export interface CollectionAlias {
  name: string;
  collection_name: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the backend's timeoutMs for this call. */
  timeoutMs?: number;
}

export interface EnsureOptions extends CallOptions {
  /**
   * The sync job the collection belongs to. A new collection is created with
   * its mark (metadata, collection-owner.ts); an existing one must carry it.
   * `adopt` (the job's adopt_existing_collection): an existing collection
   * without the job's mark is marked for the job (PATCH metadata) instead of
   * refused.
   */
  owner: { jobId: string; adopt: boolean };
}

export interface ImportOptions extends CallOptions {
  action: ImportAction;
  /** Typesense's dirty_values; default: Typesense's own (reject for our schemas). */
  dirtyValues?: "coerce_or_reject" | "coerce_or_drop" | "drop" | "reject";
}

export interface ExportOptions extends CallOptions {
  filterBy?: string;
  /** Comma-separated field list, e.g. "id". */
  includeFields?: string;
  excludeFields?: string;
  /** Only these ids (chunked into `id:[...]` filters, ANDed with filterBy). */
  ids?: readonly string[];
}

export interface ForwardSpec {
  method: "GET" | "POST";
  /** Path with its segments already encoded. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON text (sent as application/json). */
  body?: string;
}

export type SearchParams = Record<string, string | number | boolean | undefined>;

export interface SearchHit {
  document: Document;
  [key: string]: DocumentValue;
}

export interface SearchResponse {
  found: number;
  out_of?: number;
  page: number;
  hits: SearchHit[];
  [key: string]: unknown;
}

export interface TypesenseBackend {
  readonly nodes: readonly string[];
  /** GET /health on every node; never throws. */
  health(): Promise<HealthResult>;
  /**
   * One cheap authenticated call (GET /collections?limit=1, /health needs no
   * key): resolves when the key is accepted; a refused key throws a
   * TypesenseError with status 401/403.
   */
  verifyKey(options?: CallOptions): Promise<void>;
  listCollections(options?: CallOptions): Promise<CollectionSummary[]>;
  /**
   * null when the collection (or alias) does not exist. Through an alias the summary is the
   * target's: its `name` is the real collection's (differs from `name` exactly when `name`
   * is an alias), its metadata the target's; a dangling alias is null.
   */
  getCollection(name: string, options?: CallOptions): Promise<CollectionSummary | null>;
  /** 409 (exists) surfaces as a non-retryable TypesenseError with status 409. */
  createCollection(schema: CollectionSchema, options?: CallOptions): Promise<CollectionSummary>;
  /** PATCH /collections/:c with `{fields}` (add fields; `{name, drop: true}` drops one). */
  patchCollectionFields(
    name: string,
    fields: Array<TypesenseField | { name: string; drop: true }>,
    options?: CallOptions,
  ): Promise<void>;
  /** PATCH /collections/:c with `{metadata}` (replaces the collection's metadata as a whole). */
  patchCollectionMetadata(
    name: string,
    metadata: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<void>;
  /**
   * true when it existed. CAUTION: an alias name drops the collection behind it (Typesense
   * resolves the alias) and leaves the alias dangling; drop versions by their real name.
   */
  deleteCollection(name: string, options?: CallOptions): Promise<boolean>;
  /**
   * PUT /aliases/:name: creates the alias or repoints it in one call (searches resolve the
   * old or the new target, never neither). The target is not checked for existence. A name
   * a collection holds is refused: a non-retryable TypesenseError (Typesense's 500 "Name `X`
   * conflicts with an existing collection name.").
   */
  upsertAlias(name: string, collection: string, options?: CallOptions): Promise<CollectionAlias>;
  /** null when there is no such alias (a collection of that name is not an alias). */
  getAlias(name: string, options?: CallOptions): Promise<CollectionAlias | null>;
  /** Every alias, dangling ones included; Typesense's order (unspecified). */
  listAliases(options?: CallOptions): Promise<CollectionAlias[]>;
  /** Removes the alias only (never its collection); what it pointed to, or null when missing. */
  deleteAlias(name: string, options?: CallOptions): Promise<CollectionAlias | null>;
  /**
   * POST .../documents/import. Returns one result per input line, same order.
   * Throws TypesenseError when the request as a whole fails.
   */
  importDocuments(
    collection: string,
    docs: readonly Document[] | readonly string[],
    options: ImportOptions,
  ): Promise<ImportLineResult[]>;
  /**
   * Import of pre-rendered JSONL lines (full sync's SQL-rendered documents),
   * sent as bytes without a parse or stringify. Each line must be one compact
   * JSON object with no raw newline (the caller guarantees it); `ids[i]` is
   * line i's document id (for result lines without one). One result per line,
   * in line order. A JsonLines body is sent as it is (already joined).
   */
  importJsonLines(
    collection: string,
    lines: readonly Uint8Array[] | JsonLines,
    ids: readonly string[],
    options: ImportOptions,
  ): Promise<ImportLineResult[]>;
  exportDocuments(collection: string, options?: ExportOptions): Promise<Document[]>;
  /** Streams the export; memory stays bounded by one chunk. */
  iterateDocuments(
    collection: string,
    options?: Omit<ExportOptions, "ids">,
  ): AsyncIterable<Document>;
  /** Every document id of the collection, streamed. */
  exportIds(collection: string, options?: CallOptions): AsyncIterable<string>;
  /** The existing documents among `ids`, by id. */
  getDocuments(
    collection: string,
    ids: readonly string[],
    options?: CallOptions,
  ): Promise<Map<string, Document>>;
  /** Deletes by id (missing ids are fine); returns how many were deleted. */
  deleteDocuments(
    collection: string,
    ids: readonly string[],
    options?: CallOptions,
  ): Promise<number>;
  /** Deletes every document, keeps the schema; returns how many were deleted. */
  truncate(collection: string, options?: CallOptions): Promise<number>;
  search(collection: string, params: SearchParams, options?: CallOptions): Promise<SearchResponse>;
  /**
   * One request passed through as it is (the search gateway, src/gateway):
   * Typesense's status and body text for every 2xx and 4xx answer, neither
   * parsed nor re-serialized; 5xx, network failures and timeouts throw
   * TypesenseErrors like every other call.
   */
  forward(spec: ForwardSpec, options?: CallOptions): Promise<{ status: number; body: string }>;
  /** See ensureCollection(). */
  ensureCollection(
    desired: CollectionSchema,
    options: EnsureOptions,
  ): Promise<EnsureCollectionResult>;
  /** Aborts in-flight requests; later calls fail. */
  close(): Promise<void>;
}
