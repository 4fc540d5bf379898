import {
  type ColumnKind,
  kindOf,
  loadTypes,
  type Queryable,
  readIndexes,
  resolveDomain,
  type TypeRow,
  VECTOR_TYPES,
} from "./catalog-queries.js";
import { CatalogError } from "./errors.js";

export type { ColumnKind, Queryable };

export interface ColumnInfo {
  name: string;
  attnum: number;
  /** Declared type (may be a domain or an array type). */
  typeOid: number;
  /** format_type(atttypid, atttypmod): "character varying(20)", "geometry(Point,4326)", "integer[]". */
  typeName: string;
  /** pg_type.typname of the base type (of the element type for arrays), domains resolved: "int4". */
  baseTypeName: string;
  kind: ColumnKind;
  isArray: boolean;
  /** Element type (domains resolved) when isArray, else null. */
  elementTypeOid: number | null;
  /** Delimiter in the array text literal (";" for box, "," for everything else). */
  arrayDelimiter: string;
  isEnum: boolean;
  nullable: boolean;
  /** A stored generated column (pgoutput before PG 18 does not send these). */
  generated: boolean;
  /**
   * Schema-qualified, quoted output function of the declared type. selectList
   * reads `textin(<outputFunction>(col))`, which is byte-for-byte the text
   * pgoutput sends; a `::text` cast is NOT (bool::text is "true" not "t",
   * bpchar::text strips padding, inet::text adds "/32").
   */
  outputFunction: string;
}

export type ReplicaIdentity = "default" | "full" | "nothing" | "index";
export type RelationKind =
  | "table"
  | "partitioned_table"
  | "view"
  | "materialized_view"
  | "foreign_table";

export interface TableInfo {
  schema: string;
  table: string;
  oid: number;
  kind: RelationKind;
  /** In attnum order; dropped and system columns excluded. */
  columns: ColumnInfo[];
  /** Primary key columns in key order ([] without a primary key). */
  primaryKey: string[];
  /** Columns that alone carry a valid, non-partial unique index (PK included). */
  uniqueColumns: string[];
  replicaIdentity: ReplicaIdentity;
  /**
   * Columns a DELETE carries in pgoutput: the PK (default), the replica
   * identity index's columns (index), all columns (full), none (nothing).
   */
  replicaIdentityColumns: string[];
  /** pg_class.reltuples (-1 or 0 when never analyzed): for estimated progress. */
  estimatedRows: number;
}

const RELKINDS: Record<string, RelationKind> = {
  r: "table",
  p: "partitioned_table",
  v: "view",
  m: "materialized_view",
  f: "foreign_table",
};
const IDENTITIES: Record<string, ReplicaIdentity> = {
  d: "default",
  f: "full",
  n: "nothing",
  i: "index",
};

/** Reads a table's columns, keys and replica identity from pg_catalog (exact, case-sensitive names). */
export async function describeTable(
  db: Queryable,
  target: { schema: string; table: string },
): Promise<TableInfo> {
  const rel = await db.query<{
    oid: number;
    relkind: string;
    relreplident: string;
    reltuples: number;
  }>(
    `select c.oid, c.relkind, c.relreplident, c.reltuples
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = $2`,
    [target.schema, target.table],
  );
  const r = rel.rows[0];
  if (!r) throw new CatalogError(target, "does not exist (or is not visible to this role)");
  const kind = RELKINDS[r.relkind];
  if (!kind) {
    throw new CatalogError(target, `is not a table or view (relkind '${r.relkind}')`);
  }
  const attrs = await db.query<{
    attnum: number;
    attname: string;
    atttypid: number;
    type_name: string;
    attnotnull: boolean;
    attgenerated: string;
  }>(
    `select a.attnum, a.attname, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod) as type_name,
            a.attnotnull, a.attgenerated
       from pg_catalog.pg_attribute a
      where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [r.oid],
  );
  const types = await loadTypes(
    db,
    attrs.rows.map((a) => a.atttypid),
  );
  const columns = attrs.rows.map(
    (a): ColumnInfo =>
      columnOfType(
        types,
        a.atttypid,
        { ...target, column: a.attname },
        {
          name: a.attname,
          attnum: a.attnum,
          typeName: a.type_name,
          nullable: !a.attnotnull,
          generated: a.attgenerated !== "",
        },
      ),
  );
  const keys = await readIndexes(db, r.oid);
  const all = columns.map((c) => c.name);
  const replicaIdentity = IDENTITIES[r.relreplident] ?? "default";
  const replicaIdentityColumns =
    replicaIdentity === "full"
      ? all
      : replicaIdentity === "nothing"
        ? []
        : replicaIdentity === "index"
          ? keys.replIdent
          : keys.primaryKey;
  return {
    schema: target.schema,
    table: target.table,
    oid: r.oid,
    kind,
    columns,
    primaryKey: keys.primaryKey,
    uniqueColumns: keys.unique,
    replicaIdentity,
    replicaIdentityColumns,
    estimatedRows: r.reltuples,
  };
}

/** Finds a column by exact name or throws a CatalogError naming it. */
export function findColumn(table: TableInfo, name: string): ColumnInfo {
  const c = table.columns.find((x) => x.name === name);
  if (!c)
    throw new CatalogError(
      { schema: table.schema, table: table.table, column: name },
      "does not exist",
    );
  return c;
}

/** A ColumnInfo for a value of type `typeOid` (domains and arrays resolved through `types`). */
function columnOfType(
  types: Map<number, TypeRow>,
  typeOid: number,
  where: { schema: string; table: string; column: string },
  own: Pick<ColumnInfo, "name" | "attnum" | "typeName" | "nullable" | "generated">,
): ColumnInfo {
  const declared = types.get(typeOid);
  if (!declared) throw new CatalogError(where, "type not found");
  let base = resolveDomain(types, declared);
  const isArray = base.typcategory === "A" && base.typelem !== 0 && !VECTOR_TYPES.has(base.typname);
  const arrayDelimiter = isArray ? (types.get(base.typelem)?.typdelim ?? ",") : ",";
  let elementTypeOid: number | null = null;
  if (isArray) {
    const elem = types.get(base.typelem);
    if (!elem) throw new CatalogError(where, "element type not found");
    base = resolveDomain(types, elem);
    elementTypeOid = base.oid;
  }
  return {
    ...own,
    typeOid,
    baseTypeName: base.typname,
    kind: kindOf(base),
    isArray,
    elementTypeOid,
    arrayDelimiter,
    isEnum: base.typtype === "e",
    outputFunction: declared.output_fn,
  };
}

/**
 * A ColumnInfo for the result of an expression Postgres described (a query
 * result's type oid and typmod): what the mapper and the SQL renderings need
 * to treat the value like a column of that type. `where` names the value in errors.
 */
export async function describeValueType(
  db: Queryable,
  typeOid: number,
  typmod: number,
  where: { schema: string; table: string; column: string },
): Promise<ColumnInfo> {
  const types = await loadTypes(db, [typeOid]);
  const name = await db.query<{ t: string }>("select pg_catalog.format_type($1, $2) as t", [
    typeOid,
    typmod < 0 ? null : typmod,
  ]);
  return columnOfType(types, typeOid, where, {
    name: where.column,
    attnum: 0,
    typeName: name.rows[0]?.t ?? String(typeOid),
    nullable: true,
    generated: false,
  });
}
