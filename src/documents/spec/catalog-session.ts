import type pg from "pg";
import {
  CatalogError,
  type ColumnInfo,
  describeTable,
  describeValueType,
  type TableInfo,
} from "../../catalog/index.js";
import { inReadOnlyTransaction } from "../../db/transaction.js";

/**
 * The source catalog as resolution sees it: one connection inside
 * `BEGIN READ ONLY` with `SET LOCAL statement_timeout`, rolled back at the
 * end, so operator-written SQL is only ever described (never run for real:
 * every statement here ends in `limit 0`) and cannot write or hang. Each
 * describe runs under a savepoint, so one bad expression does not abort the
 * transaction and resolution collects every problem in one pass.
 */
export interface CatalogSession {
  /** The table, or the problem text when it does not exist (or is not a table or view). */
  table(schema: string, table: string): Promise<TableInfo | string>;
  /**
   * The type of `select (<expr>) from <from> limit 0`, or Postgres' message.
   * `from` is rendered by the caller from catalog names only.
   */
  describe(expr: string, from: string, name: string): Promise<ColumnInfo | string>;
  /** Runs a `... limit 0` statement built around a fragment: null, or Postgres' message. */
  probe(statement: string): Promise<string | null>;
  /** Whether `columns` of `table` are covered by a valid, non-partial unique index (or the PK). */
  uniqueKey(table: TableInfo, columns: readonly string[]): Promise<boolean>;
}

export async function withCatalogSession<T>(
  pool: pg.Pool,
  statementTimeoutMs: number,
  fn: (session: CatalogSession) => Promise<T>,
): Promise<T> {
  return inReadOnlyTransaction(pool, statementTimeoutMs, (client) => fn(sessionOn(client)));
}

function sessionOn(client: pg.PoolClient): CatalogSession {
  let n = 0;
  const guarded = async <T>(fn: () => Promise<T>): Promise<T | string> => {
    const sp = `spec_sp_${n++}`;
    await client.query(`savepoint ${sp}`);
    try {
      const out = await fn();
      await client.query(`release savepoint ${sp}`);
      return out;
    } catch (e) {
      await client.query(`rollback to savepoint ${sp}`);
      if (e instanceof CatalogError) return e.message;
      const pgErr = e as pg.DatabaseError;
      if (typeof pgErr.code === "string" && typeof pgErr.message === "string") return pgErr.message;
      throw e;
    }
  };
  return {
    table: (schema, table) => guarded(() => describeTable(client, { schema, table })),
    async describe(expr, from, name) {
      return guarded(async () => {
        // queryMode extended: the text must be ONE statement (a `;` in the
        // fragment cannot smuggle a second one in).
        const r = await client.query({
          text: `select (${expr}) as "#v" from ${from} limit 0`,
          queryMode: "extended",
        } as pg.QueryConfig);
        const f = r.fields[0];
        if (!f) throw new Error("describe returned no column");
        return describeValueType(client, f.dataTypeID, f.dataTypeModifier, {
          schema: "",
          table: "",
          column: name,
        });
      });
    },
    async probe(statement) {
      const out = await guarded(async () => {
        await client.query({ text: statement, queryMode: "extended" } as pg.QueryConfig);
        return null;
      });
      return out;
    },
    async uniqueKey(table, columns) {
      const r = await client.query<{ ok: boolean }>(
        `select exists (
           select 1 from pg_catalog.pg_index i
            where i.indrelid = $1 and i.indisunique and i.indisvalid
              and i.indpred is null and i.indexprs is null
              and array(select a.attname::text
                          from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
                          join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                         where k.ord <= i.indnkeyatts) <@ $2::text[]) as ok`,
        [table.oid, [...columns]],
      );
      return r.rows[0]?.ok === true;
    },
  };
}
