/*
 * Source rows -> Typesense documents: the one path from a row to a document,
 * used by full sync's windows and CDC's refetch alike. The mapper
 * (createDocumentMapper: the collection schema, rowToDocument, the select
 * list), the value parsers behind it, the SQL rendering of whole documents by
 * Postgres (sql-document.ts), the window reader and its COPY decoding. What a
 * table looks like (describeTable, its columns and types) stays in catalog/.
 */
export { describeAndMap, type JobSource } from "./describe-and-map.js";
export {
  createDocumentMapper,
  type DocumentMapper,
  type DocumentMapperJob,
  type DocumentMapperOptions,
  type DroppedValue,
  quoteIdent,
  type RowToDocumentOptions,
  type TextRow,
} from "./document-mapper.js";
export {
  type ColumnMapping,
  type Converted,
  type MappingOptions,
  mapColumn,
} from "./map-column.js";
export { flattenPgArray, type PgArrayItem, PgArrayParseError, parsePgArray } from "./pg-array.js";
export {
  createSpecWindowReader,
  DocumentSpecError,
  describeSpecJob,
  type JobDocuments,
  type ResolvedDocument,
  type ResolvedField,
  type ResolvedRelation,
  type ResolveOptions,
  renderSpecSql,
  replicaIdentityWarnings,
  resolveDocumentSpec,
  type SampleResult,
  type SpecJob,
  type SpecProblem,
  type SpecSql,
  sampleDocuments,
  specDocuments,
  sqlFragmentProblem,
} from "./spec/index.js";
export {
  outputText,
  renderDocumentSql,
  renderIdSql,
  renderValueSql,
  type SqlDocument,
  sqlStringLiteral,
} from "./sql-document.js";
export {
  type GeoPoint,
  type ParsedInstant,
  parseBool,
  parseEwkbPoint,
  parseFloatValue,
  parseInstant,
  parseInstantMs,
  parseInt64,
  parsePoint,
  UnrepresentableValue,
} from "./values.js";
export {
  createWindowReader,
  qualifiedTable,
  type WindowRead,
  type WindowReader,
  type WindowReaderOptions,
} from "./window-reader.js";
