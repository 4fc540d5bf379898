import { CatalogError, describeTable } from "../catalog/index.js";
import type { Pools } from "../db/pool.js";
import { createDocumentMapper } from "../documents/index.js";
import { InvalidInputError, UnavailableError } from "./errors.js";

export interface JobSource {
  source_client_name: string;
  source_schema_name: string;
  source_table_name: string;
  document_id_column: string;
  included_columns: string[];
  queryable_fields: string[];
  /** A document spec: with its own `fields`, the spec's resolution checks queryable_fields against them. */
  document?: { fields?: unknown } | null;
}

/**
 * Checks a job against the REAL source table, in this order (first failure wins):
 *   client is in postgres_clients        -> UnknownClientError (400)
 *   table exists and is a table/view     -> CatalogError naming schema.table (400)
 *   every named column exists, queryable
 *   fields map to string/string[]        -> CatalogError naming the column (400)
 *     (with a spec that has its own fields: only the id column; the spec's
 *     resolution checks queryable_fields against the document's fields)
 *   the id column alone is unique        -> InvalidInputError naming it (400)
 * The mapper used here is the one full sync and CDC use, so a job accepted
 * here is one they can run. Source DB unreachable -> UnavailableError (503).
 */
export async function validateJobSource(pools: Pools, job: JobSource): Promise<void> {
  const pool = pools.source(job.source_client_name);
  const where = { schema: job.source_schema_name, table: job.source_table_name };
  let table: Awaited<ReturnType<typeof describeTable>>;
  try {
    table = await describeTable(pool, where);
  } catch (e) {
    if (e instanceof CatalogError) throw e;
    throw new UnavailableError(
      `source database of client "${job.source_client_name}" is unavailable`,
    );
  }
  const mapper = createDocumentMapper(table, {
    documentIdColumn: job.document_id_column,
    ...mappedColumns(job),
  });
  if (!mapper.idIsUnique) {
    throw new InvalidInputError(
      `${new CatalogError({ ...where, column: job.document_id_column }, "").message.trim()} is not unique on its own: document_id_column needs a primary key or a unique index on that column`,
      "document_id_column",
    );
  }
}

/**
 * The columns job create checks through the mapper. A spec with its own
 * fields designs the document: included_columns do not apply and
 * queryable_fields name document fields (a lookup's brand_name too), which
 * the spec's resolution checks (documents/spec/resolve.ts): only the id
 * column is checked here then.
 */
export function mappedColumns(
  job: Pick<JobSource, "document_id_column" | "included_columns" | "queryable_fields" | "document">,
): { includedColumns: string[]; queryableFields: string[] } {
  return job.document?.fields !== undefined
    ? { includedColumns: [job.document_id_column], queryableFields: [] }
    : { includedColumns: job.included_columns, queryableFields: job.queryable_fields };
}
