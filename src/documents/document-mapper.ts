import { type ColumnInfo, findColumn, type TableInfo } from "../catalog/describe-table.js";
import { CatalogError } from "../catalog/errors.js";
import { quoteIdent } from "../db/sql-text.js";
import type { CollectionSchema, Document, TypesenseField } from "../typesense/types.js";
import { type ColumnMapping, type MappingOptions, mapColumn } from "./map-column.js";
import { renderDocumentSql, type SqlDocument } from "./sql-document.js";

export interface DroppedValue {
  column: string;
  documentId: string;
  reason: string;
}

export interface DocumentMapperOptions extends Omit<MappingOptions, "index"> {
  /** `index` for fields that are not queryable (queryable ones are always indexed). Default true. */
  indexOtherFields?: boolean;
  /**
   * Allow stored generated columns in includedColumns. pgoutput before PG 18
   * does not send them, so CDC documents would lack them; off by default, and
   * "all columns" (empty includedColumns) skips them.
   */
  allowGeneratedColumns?: boolean;
  /** Called for every value left out because Typesense cannot represent it faithfully. */
  onDroppedValue?: (drop: DroppedValue) => void;
}

export interface DocumentMapperJob {
  /** Column whose output text is the document id. Any type; NULL ids are an error. */
  documentIdColumn: string;
  /** Columns that become fields; empty = all columns (stored generated ones excepted). */
  includedColumns: readonly string[];
  /** Fields for query_by: string or string[] columns, always indexed and always included. */
  queryableFields: readonly string[];
  options?: DocumentMapperOptions;
}

export interface RowToDocumentOptions {
  /**
   * Write `null` for NULL (and unrepresentable) values instead of omitting the
   * field. For partial writes (emplace/update) an omitted field keeps its old
   * value, so a column that became NULL must be sent as null (Typesense removes
   * the key). Default false: full documents for upsert omit them.
   */
  explicitNulls?: boolean;
}

/** Text values keyed by column name; undefined = not known (unchanged TOAST): left out. */
export type TextRow = Readonly<Record<string, string | null | undefined>>;

export interface DocumentMapper {
  readonly table: TableInfo;
  readonly idColumn: ColumnInfo;
  /** Whether the id column alone is unique (primary key or unique index). */
  readonly idIsUnique: boolean;
  /** Quoted identifier of the id column, for WHERE clauses. */
  readonly idColumnSql: string;
  /** Columns read by selectList, in table order (the id column always among them). */
  readonly columns: readonly ColumnInfo[];
  /** Typesense fields of the collection (never "id"). */
  readonly fields: readonly TypesenseField[];
  /** One expression per column, each returning the output text AS the column name. */
  readonly selectExpressions: readonly string[];
  /** selectExpressions joined with ", " for `select <selectList> from ...`. */
  readonly selectList: string;
  /**
   * The whole document as one SQL text expression whose JSON equals
   * rowToDocument's document (sql-document.ts), or null with the reason when
   * some column has no proven rendering (then only the JS path is used).
   */
  readonly documentSql: SqlDocument;
  rowToDocument(row: TextRow, options?: RowToDocumentOptions): Document;
  collectionSchema(name: string): CollectionSchema;
}

/** Identifier quoting lives in db/sql-text.ts (the manifest repository uses it too). */
export { quoteIdent };

/**
 * Builds the one row -> document conversion of a job. Full sync reads rows with
 * selectList, CDC passes pgoutput's text tuple; both call rowToDocument, so the
 * same row yields the same document on both paths.
 */
export function createDocumentMapper(table: TableInfo, job: DocumentMapperJob): DocumentMapper {
  const opts = job.options ?? {};
  const where = (column: string) => ({ schema: table.schema, table: table.table, column });
  const idColumn = findColumn(table, job.documentIdColumn);

  const wanted = new Set<string>();
  if (job.includedColumns.length === 0) {
    for (const c of table.columns) if (!c.generated) wanted.add(c.name);
  } else {
    for (const name of job.includedColumns) {
      const c = findColumn(table, name);
      if (c.generated && !opts.allowGeneratedColumns) {
        throw new CatalogError(
          where(name),
          "is a generated column, which logical replication does not send (before PG 18); leave it out or set allowGeneratedColumns",
        );
      }
      wanted.add(name);
    }
  }
  const queryable = new Set(job.queryableFields);
  for (const name of queryable) wanted.add(findColumn(table, name).name);

  const mappings: ColumnMapping[] = [];
  for (const col of table.columns) {
    if (!wanted.has(col.name)) continue;
    // A column named "id" is the document id itself when it is the id column;
    // any other column called "id" would collide with it.
    if (col.name === "id") {
      if (col === idColumn) continue;
      throw new CatalogError(
        where("id"),
        `collides with the Typesense document id (taken from "${idColumn.name}"); exclude it or make it the document id column`,
      );
    }
    const isQueryable = queryable.has(col.name);
    const m = mapColumn(col, {
      json: opts.json,
      isoTimestamps: opts.isoTimestamps,
      index: isQueryable ? true : (opts.indexOtherFields ?? true),
    });
    if (isQueryable && m.field.type !== "string" && m.field.type !== "string[]") {
      throw new CatalogError(
        where(col.name),
        `is queryable but maps to Typesense ${m.field.type} (${col.typeName}); query_by needs string or string[]`,
      );
    }
    mappings.push(m);
  }

  const fields: TypesenseField[] = [];
  for (const m of mappings) {
    fields.push(m.field);
    if (m.isoField) fields.push(m.isoField);
  }
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.name))
      throw new CatalogError(
        where(f.name),
        "is produced twice (a column collides with a derived _iso field)",
      );
    seen.add(f.name);
  }

  const readNames = new Set([...mappings.map((m) => m.column.name), idColumn.name]);
  const columns = table.columns.filter((c) => readNames.has(c.name));
  const selectExpressions = columns.map(
    (c) => `pg_catalog.textin(${c.outputFunction}(${quoteIdent(c.name)})) as ${quoteIdent(c.name)}`,
  );
  const nested = fields.some((f) => f.type === "object" || f.type === "object[]");
  const onDrop = opts.onDroppedValue;

  return {
    table,
    idColumn,
    idIsUnique: table.uniqueColumns.includes(idColumn.name),
    idColumnSql: quoteIdent(idColumn.name),
    columns,
    fields,
    selectExpressions,
    selectList: selectExpressions.join(", "),
    documentSql: renderDocumentSql(idColumn, mappings, {
      quote: quoteIdent,
      hasDropListener: onDrop !== undefined,
    }),
    rowToDocument(row, options) {
      const id = row[idColumn.name];
      if (id === null || id === undefined) {
        throw new CatalogError(
          where(idColumn.name),
          "is NULL or missing in the row; a document id is required",
        );
      }
      const explicitNulls = options?.explicitNulls === true;
      const doc: Document = { id };
      for (const m of mappings) {
        const name = m.field.name;
        const text = row[name];
        if (text === undefined) continue;
        if (text === null) {
          if (explicitNulls) {
            doc[name] = null;
            if (m.isoField) doc[m.isoField.name] = null;
          }
          continue;
        }
        const c = m.convert(text);
        if (c.value !== undefined) doc[name] = c.value;
        else if (explicitNulls) doc[name] = null;
        if (m.isoField) {
          if (c.iso !== undefined) doc[m.isoField.name] = c.iso;
          else if (explicitNulls) doc[m.isoField.name] = null;
        }
        if (c.problem !== undefined && onDrop)
          onDrop({ column: name, documentId: id, reason: c.problem });
      }
      return doc;
    },
    collectionSchema(name) {
      const schema: CollectionSchema = { name, fields: fields.map((f) => ({ ...f })) };
      if (nested) schema.enable_nested_fields = true;
      return schema;
    },
  };
}
