import { CatalogError, describeTable } from "../catalog/index.js";
import type { Pools } from "../db/pool.js";
import { mapColumn } from "../documents/index.js";

export interface SourceTable {
  schema: string;
  table: string;
}

export interface SourceColumn {
  name: string;
  typeName: string;
  /** Maps to string or string[]: may be a queryable field (the rule job validation applies). */
  queryable: boolean;
  /** Alone carries a unique index: may be the document id column. */
  unique: boolean;
  primaryKey: boolean;
}

/**
 * Read-only catalog lookups for the job form's pickers, on the source
 * client's own pool. Saving a job is still validated by the API against the
 * real table (control/job-validation.ts); this only offers choices. Callers
 * must have an operator session (the guard keeps search-only keys out).
 */
export async function listSourceTables(pools: Pools, client: string): Promise<SourceTable[]> {
  const r = await pools.source(client).query<SourceTable>(
    `select n.nspname as schema, c.relname as "table"
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'f')
        and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
        and n.nspname not like 'pg_temp_%' and n.nspname not like 'pg_toast_temp_%'
        and has_table_privilege(c.oid, 'select')
      order by 1, 2
      limit 2000`,
  );
  return r.rows;
}

/** The table's columns with what a job may do with each; null when the table is not there. */
export async function describeSourceColumns(
  pools: Pools,
  where: { client: string; schema: string; table: string },
): Promise<SourceColumn[] | null> {
  try {
    const t = await describeTable(pools.source(where.client), {
      schema: where.schema,
      table: where.table,
    });
    return t.columns.map((col) => {
      const type = mapColumn(col).field.type;
      return {
        name: col.name,
        typeName: col.typeName,
        queryable: type === "string" || type === "string[]",
        unique: t.uniqueColumns.includes(col.name),
        primaryKey: t.primaryKey.length === 1 && t.primaryKey[0] === col.name,
      };
    });
  } catch (e) {
    if (e instanceof CatalogError) return null;
    throw e;
  }
}
