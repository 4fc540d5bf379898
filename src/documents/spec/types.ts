import type { ColumnInfo, TableInfo } from "../../catalog/describe-table.js";
import type { DocumentSpec } from "../../db/repositories/document-spec.js";
import type { CollectionSchema, TypesenseField } from "../../typesense/types.js";

/*
 * The contract between the spec's resolution (resolve.ts: the JSON spec
 * checked against the real source catalog) and its rendering (render.ts: the
 * ONE Postgres statement that renders documents, used by full sync, CDC and
 * dead-letter retry alike). Nothing here renders: these are the shapes.
 */

/** The job's parts the spec is resolved with (from the job row or a create/patch body). */
export interface SpecJob {
  schema: string;
  table: string;
  documentIdColumn: string;
  /** Used when the spec has no `fields` (today's behaviour). */
  includedColumns: readonly string[];
  queryableFields: readonly string[];
}

/** One problem of a spec, at a JSON path like `document.lookups[0].on.brand_id`. */
export interface SpecProblem {
  path: string;
  message: string;
}

/** A field after resolution: where its value comes from and the Postgres type of that value. */
export interface ResolvedField {
  /** JSON path of the field in the spec, for messages (`document.fields[2]`). */
  path: string;
  name: string;
  source: { column: string } | { sql: string };
  /**
   * The value's Postgres type: the column itself, or for an expression a
   * ColumnInfo built from the type Postgres described for it (name = field name).
   */
  pg: ColumnInfo;
  /** The Typesense field (type inferred or the checked override, options passed through). */
  typesense: TypesenseField;
}

/** A lookup (many-to-one) or a child relation (one-to-many) after resolution. */
export interface ResolvedRelation {
  kind: "lookup" | "child";
  path: string;
  name: string;
  table: TableInfo;
  /** Pairs of (column of the row this hangs off, column of `table`). */
  on: ReadonlyArray<readonly [own: string, other: string]>;
  fields: readonly ResolvedField[];
  lookups: readonly ResolvedRelation[];
  /** Children only. */
  orderBy?: string;
  limit?: number;
  shape?: "objects" | "arrays";
}

/** A job's document design, checked against the catalog. */
export interface ResolvedDocument {
  spec: DocumentSpec;
  root: TableInfo;
  idColumn: ColumnInfo;
  fields: readonly ResolvedField[];
  filter: string | null;
  lookups: readonly ResolvedRelation[];
  children: readonly ResolvedRelation[];
  /** Every Typesense field of the collection, in document order (never "id"). */
  typesenseFields: readonly TypesenseField[];
  collectionSchema(name: string): CollectionSchema;
}
