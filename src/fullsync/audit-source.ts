import type pg from "pg";
import { type JobDocuments, quoteIdent } from "../documents/index.js";

/**
 * The source side of a drift audit (audit.ts): the job's document ids in id
 * order, one page at a time (keyset: `id > last`), so the audit never holds
 * more than one page of ids. The id text is the column's output text, as the
 * manifest and rowToDocument produce it; NULL ids are no documents.
 */
export function createIdPager(source: pg.Pool, mapper: JobDocuments) {
  const id = mapper.idColumnSql;
  const type = mapper.idColumn.typeName;
  const table = `${quoteIdent(mapper.table.schema)}.${quoteIdent(mapper.table.table)}`;
  const idText = `pg_catalog.textin(${mapper.idColumn.outputFunction}(${id}))`;
  // aliased apart from the column: `order by id` would sort the id TEXT
  const sql = `select ${idText} as doc_id from ${table}
                where ${id} is not null and ($1::text is null or ${id} > $1::text::${type})
                order by ${id} limit $2`;
  return {
    /** The next `limit` ids after `after` (null: from the first), ascending. */
    async page(after: string | null, limit: number): Promise<string[]> {
      const r = await source.query<{ doc_id: string }>(sql, [after, limit]);
      return r.rows.map((x) => x.doc_id);
    },
  };
}
