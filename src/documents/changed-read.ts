import type { Queryable } from "../catalog/index.js";
import type { DocumentMapper } from "./document-mapper.js";

/**
 * A re-sync window's rows that differ from what full sync last wrote
 * (docs/full-sync.md "Content hashes"). The stored md5 of each id goes into
 * the source query and Postgres compares it with md5(<the document's SQL
 * rendering>), the same expression and the same function full sync hashed
 * (window.ts hashes the rendered line's bytes: md5 over the UTF-8 text).
 * Unchanged rows never leave Postgres; only ids whose hash differs, has no
 * stored hash, or whose row is gone come back.
 */
export interface ChangedRead {
  /** Rows whose rendering differs from the stored hash (or has none), in id order. */
  changed: { id: string; doc: string; md5: string }[];
  /** Requested ids whose row no longer exists (deleted since the manifest). */
  missing: string[];
}

export type ReadChanged = (
  ids: readonly string[],
  stored: ReadonlyMap<string, string>,
  db?: Queryable,
) => Promise<ChangedRead>;

/**
 * The reader of `mapper`'s changed rows, or null when the mapper has no SQL
 * rendering (the job keeps the pre-image comparison). The caller checks that
 * the server qualifies for the rendering (window-reader.ts renderingQualifies).
 */
export function createChangedReader(mapper: DocumentMapper, source: Queryable): ReadChanged | null {
  const docSql = mapper.documentSql.expression;
  if (docSql === null) return null;
  const id = mapper.idColumnSql;
  const type = mapper.idColumn.typeName;
  const idText = `pg_catalog.textin(${mapper.idColumn.outputFunction}(${id}))`;
  const table = `${quoteName(mapper.table.schema)}.${quoteName(mapper.table.table)}`;
  // w: the window's ids with their stored md5 (hex, null: none). The range
  // scan is the window read's; rows inserted into the range after the
  // manifest are not in w and are left out (like readOrdered).
  const sql = `with w as (
      select x.id, x.h from pg_catalog.json_to_recordset($1::json) as x(id text, h text)
    ), s as (
      select ${idText} as id, ${docSql} as doc from ${table}
       where ${id} between $2::text::${type} and $3::text::${type}
    )
    select w.id, s.doc, pg_catalog.md5(s.doc) as md5
      from w left join s on s.id = w.id
     where s.id is null or w.h is null or w.h <> pg_catalog.md5(s.doc)`;
  return async (ids, stored, db) => {
    const first = ids[0];
    const last = ids[ids.length - 1];
    if (first === undefined || last === undefined) return { changed: [], missing: [] };
    const w = JSON.stringify(ids.map((x) => ({ id: x, h: stored.get(x) ?? null })));
    const pool = db ?? source;
    const r = await pool.query<{ id: string; doc: string | null; md5: string | null }>(sql, [
      w,
      first,
      last,
    ]);
    const changed: ChangedRead["changed"] = [];
    const missing: string[] = [];
    for (const row of r.rows) {
      if (row.doc === null || row.md5 === null) missing.push(row.id);
      else changed.push({ id: row.id, doc: row.doc, md5: row.md5 });
    }
    return { changed, missing };
  };
}

function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
