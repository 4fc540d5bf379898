export {
  type ColumnInfo,
  type ColumnKind,
  describeTable,
  findColumn,
  type Queryable,
  type RelationKind,
  type ReplicaIdentity,
  type TableInfo,
} from "./describe-table.js";
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
export { CatalogError } from "./errors.js";
export {
  type ColumnMapping,
  type Converted,
  type MappingOptions,
  mapColumn,
} from "./map-column.js";
export { flattenPgArray, type PgArrayItem, PgArrayParseError, parsePgArray } from "./pg-array.js";
export { renderDocumentSql, type SqlDocument, sqlStringLiteral } from "./sql-document.js";
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
