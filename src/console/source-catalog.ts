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

/**
 * One foreign key between the chosen table and another, as a spec's `on`
 * reads it: the chosen table's row columns -> the other table's columns.
 *   lookup (the chosen table references `table`): on = { fk column: key column }
 *   child  (`table` references the chosen table): on = { key column: fk column }
 */
export interface SourceRelation {
  kind: "lookup" | "child";
  /** `schema.table` of the other table, as a spec names it. */
  table: string;
  constraint: string;
  on: Record<string, string>;
  /** The other table's columns (for the spec's `fields`). */
  columns: string[];
}

/**
 * The foreign keys (pg_constraint, contype 'f') from and to the table, for the
 * job form's lookup and child pickers. Composite keys keep their column pairs
 * in key order. Only tables the source role may read are offered.
 */
export async function describeSourceRelations(
  pools: Pools,
  where: { client: string; schema: string; table: string },
): Promise<SourceRelation[]> {
  const r = await pools.source(where.client).query<{
    kind: "lookup" | "child";
    other_schema: string;
    other_table: string;
    constraint: string;
    own: string[];
    other: string[];
    columns: string[];
  }>(
    `with t as (
       select c.oid from pg_catalog.pg_class c
         join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relname = $2
     ), fk as (
       select case when k.conrelid = t.oid then 'lookup' else 'child' end as kind,
              k.conname, k.conrelid, k.confrelid, k.conkey, k.confkey,
              case when k.conrelid = t.oid then k.confrelid else k.conrelid end as other_oid
         from pg_catalog.pg_constraint k, t
        where k.contype = 'f' and (k.conrelid = t.oid or k.confrelid = t.oid)
     )
     select fk.kind, n.nspname as other_schema, c.relname as other_table,
            fk.conname as "constraint",
            array(select a.attname::text from unnest(case when fk.kind = 'lookup' then fk.conkey else fk.confkey end)
                    with ordinality u(attnum, i)
                    join pg_catalog.pg_attribute a
                      on a.attrelid = (case when fk.kind = 'lookup' then fk.conrelid else fk.confrelid end)
                     and a.attnum = u.attnum
                   order by u.i) as own,
            array(select a.attname::text from unnest(case when fk.kind = 'lookup' then fk.confkey else fk.conkey end)
                    with ordinality u(attnum, i)
                    join pg_catalog.pg_attribute a on a.attrelid = fk.other_oid and a.attnum = u.attnum
                   order by u.i) as other,
            array(select a.attname::text from pg_catalog.pg_attribute a
                   where a.attrelid = fk.other_oid and a.attnum > 0 and not a.attisdropped
                   order by a.attnum) as columns
       from fk join pg_catalog.pg_class c on c.oid = fk.other_oid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where has_table_privilege(c.oid, 'select')
      order by 1 desc, 2, 3, 4
      limit 200`,
    [where.schema, where.table],
  );
  return r.rows.map((x) => ({
    kind: x.kind,
    table: `${x.other_schema}.${x.other_table}`,
    constraint: x.constraint,
    on: Object.fromEntries(x.own.map((c, i) => [c, x.other[i]!])),
    columns: x.columns,
  }));
}
