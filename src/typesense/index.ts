export { createTypesenseBackend } from "./backend.js";
export type {
  CallOptions,
  CollectionAlias,
  CollectionSummary,
  EnsureCollectionResult,
  EnsureOptions,
  ExportOptions,
  ForwardSpec,
  HealthResult,
  ImportOptions,
  NodeHealth,
  SearchHit,
  SearchParams,
  SearchResponse,
  TypeConflict,
  TypesenseBackend,
  TypesenseBackendOptions,
} from "./backend-types.js";
export {
  CollectionNotOwnedError,
  MANAGED_BY,
  type Ownership,
  ownerMark,
  ownershipOf,
} from "./collection-owner.js";
export { ensureCollection } from "./ensure-collection.js";
export { errorForStatus, isRetryable, TypesenseError, type TypesenseErrorKind } from "./errors.js";
export { idFilterChunks, isFilterSafeId } from "./id-filter.js";
export { type ImportAction, type ImportLineResult, parseImportResults } from "./import-results.js";
export { type RetryOptions, withRetry } from "./retry.js";
export type {
  CollectionSchema,
  Document,
  DocumentValue,
  TypesenseField,
  TypesenseFieldType,
} from "./types.js";
