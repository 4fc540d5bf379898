export {
  type ColumnInfo,
  type ColumnKind,
  describeTable,
  describeValueType,
  findColumn,
  type Queryable,
  type RelationKind,
  type ReplicaIdentity,
  type TableInfo,
} from "./describe-table.js";
export { CatalogError } from "./errors.js";
