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
}

/**
 * Checks a job against the REAL source table, in this order (first failure wins):
 *   client is in postgres_clients        -> UnknownClientError (400)
 *   table exists and is a table/view     -> CatalogError naming schema.table (400)
 *   every named column exists, queryable
 *   fields map to string/string[]        -> CatalogError naming the column (400)
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
    includedColumns: job.included_columns,
    queryableFields: job.queryable_fields,
  });
  if (!mapper.idIsUnique) {
    throw new InvalidInputError(
      `${new CatalogError({ ...where, column: job.document_id_column }, "").message.trim()} is not unique on its own: document_id_column needs a primary key or a unique index on that column`,
      "document_id_column",
    );
  }
}
