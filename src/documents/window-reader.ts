import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { Queryable } from "../catalog/index.js";
import type { Document, JsonLines } from "../typesense/types.js";
import { forEachBinaryPair, forEachCopyRow } from "./copy-text.js";
import { type DocumentMapper, quoteIdent } from "./document-mapper.js";

/**
 * Reads one window of rows by document id from the source, in ONE query, and
 * converts them with the mapper's rowToDocument (the same conversion CDC uses).
 *
 * Kept separate from the engine on purpose: when CDC runs for a job, a window
 * is bracketed by watermarks (register ids -> read -> emit high watermark), and
 * the CDC applier will call this reader between the two.
 */
/** The source table of `mapper`, schema-qualified and quoted (also the manifest's source). */
export function qualifiedTable(mapper: DocumentMapper): string {
  return `${quoteIdent(mapper.table.schema)}.${quoteIdent(mapper.table.table)}`;
}

export interface WindowReaderOptions {
  /** Source database (pool or a client already inside a transaction). */
  source: Queryable;
  mapper: DocumentMapper;
}

export interface WindowRead {
  /** Documents by id for the rows that exist now. */
  documents: Map<string, Document>;
  /** Requested ids whose row no longer exists (deleted since the manifest). */
  missing: string[];
}

/**
 * A window's documents as Postgres rendered them (mapper.documentSql): one
 * compact JSON line per row, forwarded to the import as bytes. Lines come in
 * the COPY's row order (not necessarily the order of the requested ids);
 * `lines[i]` is the document of `ids[i]`, which is all the import needs.
 */
export interface RenderedRead {
  ids: string[];
  /** The documents' JSON lines, already joined into the import body. */
  lines: JsonLines;
  /** Requested ids whose row no longer exists (deleted since the manifest). */
  missing: string[];
}

export interface WindowReader {
  /** Reads the rows of `ids` (document id texts); `db` overrides the source for this call. */
  read(ids: readonly string[], db?: Queryable): Promise<WindowRead>;
  /**
   * Same result as read() for ids in ascending id order (a manifest window),
   * with one index range scan between the first and last id instead of one
   * probe per id. Rows inserted into that range after the manifest are left
   * out (they are not in `ids`).
   */
  readOrdered(ids: readonly string[], db?: Queryable): Promise<WindowRead>;
  /**
   * Which of `ids` have a row in the source right now (orphan sweep). Needs a
   * pool, not a client in a transaction: a bad id's cast error is retried.
   */
  existing(ids: readonly string[], db?: Queryable): Promise<Set<string>>;
  /**
   * Like readOrdered, but Postgres renders the documents (one range COPY in
   * binary format: id text + document text per row). null when the mapper has
   * no SQL rendering, the server does not qualify (sql-document.ts), or `db`
   * is not a pool: the caller then uses readOrdered.
   */
  readOrderedRendered(ids: readonly string[], db?: Queryable): Promise<RenderedRead | null>;
}

export function createWindowReader(opts: WindowReaderOptions): WindowReader {
  const { mapper } = opts;
  const id = mapper.idColumnSql;
  // The id texts go back through the column type's input function: the inverse
  // of the output text the manifest and rowToDocument use, and index-friendly.
  const idArray = `$1::text[]::${mapper.idColumn.typeName}[]`;
  const readSql = `select ${mapper.selectList} from ${qualifiedTable(mapper)} where ${id} = any(${idArray})`;
  const type = mapper.idColumn.typeName;
  const rangeSql = `select ${mapper.selectList} from ${qualifiedTable(mapper)}
                     where ${id} between $1::text::${type} and $2::text::${type}`;
  const columnNames = mapper.columns.map((c) => c.name);
  // COPY takes no bind parameters: the ids go in as E'' literals (backslash and
  // quote escaped, so standard_conforming_strings does not matter), through the
  // same text -> type input cast as rangeSql.
  const literal = (text: string) =>
    `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'::text::${type}`;
  const rangeCopySql = (first: string, last: string) =>
    `copy (select ${mapper.selectList} from ${qualifiedTable(mapper)}
            where ${id} between ${literal(first)} and ${literal(last)}) to stdout`;
  const docSql = mapper.documentSql.expression;
  const idText = `pg_catalog.textin(${mapper.idColumn.outputFunction}(${id}))`;
  const renderedCopySql = (first: string, last: string) =>
    `copy (select ${idText}, ${docSql} from ${qualifiedTable(mapper)}
            where ${id} between ${literal(first)} and ${literal(last)}) to stdout (format binary)`;
  const qualifies = renderingQualifies();
  const existsSql = `select pg_catalog.textin(${mapper.idColumn.outputFunction}(${id})) as id
                       from ${qualifiedTable(mapper)} where ${id} = any(${idArray})`;
  return {
    async read(ids, db) {
      const documents = new Map<string, Document>();
      if (ids.length === 0) return { documents, missing: [] };
      const r = await (db ?? opts.source).query<Record<string, string | null>>(readSql, [ids]);
      for (const row of r.rows) {
        const doc = mapper.rowToDocument(row);
        documents.set(doc.id, doc);
      }
      return { documents, missing: ids.filter((x) => !documents.has(x)) };
    },
    async readOrdered(ids, db) {
      const documents = new Map<string, Document>();
      const first = ids[0];
      const last = ids[ids.length - 1];
      if (first === undefined || last === undefined) return { documents, missing: [] };
      const wanted = new Set(ids);
      const pool = db ?? opts.source;
      if (pool instanceof pg.Pool) {
        // Fast path: the same SELECT as COPY text (no per-row result objects).
        const text = await copyText(pool, rangeCopySql(first, last));
        const idName = mapper.idColumn.name;
        forEachCopyRow(text, columnNames, (row) => {
          if (!wanted.has(row[idName] as string)) return;
          const doc = mapper.rowToDocument(row);
          documents.set(doc.id, doc);
        });
        return { documents, missing: ids.filter((x) => !documents.has(x)) };
      }
      const r = await (db ?? opts.source).query<Record<string, string | null>>(rangeSql, [
        first,
        last,
      ]);
      const idName = mapper.idColumn.name;
      for (const row of r.rows) {
        if (!wanted.has(row[idName] as string)) continue;
        const doc = mapper.rowToDocument(row);
        documents.set(doc.id, doc);
      }
      return { documents, missing: ids.filter((x) => !documents.has(x)) };
    },
    async existing(ids, db) {
      return existingIds(db ?? opts.source, existsSql, ids);
    },
    async readOrderedRendered(ids, db) {
      const pool = db ?? opts.source;
      if (docSql === null || !(pool instanceof pg.Pool) || !(await qualifies(pool))) return null;
      const first = ids[0];
      const last = ids[ids.length - 1];
      if (first === undefined || last === undefined) {
        return {
          ids: [],
          lines: { body: Buffer.alloc(0), count: 0, starts: new Int32Array(1) },
          missing: [],
        };
      }
      return readRendered(pool, renderedCopySql(first, last), ids);
    },
  };
}

/**
 * Checked once per reader: the renderings assume numeric extract(epoch)
 * (PG >= 14), shortest-exact float output (extra_float_digits >= 1) and ISO
 * DateStyle (the JS path parses ISO text only; both must agree). Source pools
 * pin these settings (SOURCE_SESSION_OPTIONS); a pool without them may fall
 * back to the JS path. A failed check is not cached (asked again next time).
 */
export function renderingQualifies(): (pool: pg.Pool) => Promise<boolean> {
  let serverQualifies: Promise<boolean> | undefined;
  return (pool) => {
    serverQualifies ??= pool
      .query<{ ok: boolean }>(
        `select current_setting('server_version_num')::int >= 140000
            and current_setting('extra_float_digits')::int >= 1
            and current_setting('DateStyle') like 'ISO%' as ok`,
      )
      .then(
        (r) => r.rows[0]?.ok === true,
        (e: unknown) => {
          serverQualifies = undefined;
          throw e;
        },
      );
    return serverQualifies;
  };
}

/**
 * Runs a `COPY (select <id text>, <document text> ...) TO STDOUT (format
 * binary)` over the range of `ids` and builds the import body of the rows
 * whose id is in `ids` (rows inserted into the range after the manifest are
 * not in the window); the other ids are `missing`.
 */
export async function readRendered(
  pool: pg.Pool,
  copySql: string,
  ids: readonly string[],
): Promise<RenderedRead> {
  const wanted = new Set(ids);
  const buf = await copyBytes(pool, copySql);
  // The import body is built here: each document is copied once, after the
  // previous one and a "\n" (the COPY data is larger than the body).
  const body = Buffer.allocUnsafe(buf.length);
  const starts = new Int32Array(ids.length + 1);
  const out: string[] = [];
  let at = 0;
  forEachBinaryPair(buf, (idStart, idEnd, docStart, docEnd) => {
    const docId = buf.toString("utf8", idStart, idEnd);
    // rows inserted into the range after the manifest are not in this window
    if (!wanted.has(docId)) return;
    wanted.delete(docId); // an id column without a unique index may repeat
    starts[out.length] = at;
    out.push(docId);
    at += buf.copy(body, at, docStart, docEnd);
    body[at++] = 10; // "\n"
  });
  starts[out.length] = at;
  const missing: string[] = [];
  for (const x of ids) if (wanted.has(x)) missing.push(x);
  const count = out.length;
  // no trailing newline: the body ends before the last separator
  const lines = {
    body: body.subarray(0, Math.max(0, at - 1)),
    count,
    starts: starts.subarray(0, count + 1),
  };
  return { ids: out, lines, missing };
}

/** Runs `COPY ... TO STDOUT` on a pooled connection; the whole output as UTF-8 text. */
async function copyText(pool: pg.Pool, sql: string): Promise<string> {
  // Decoded once, whole: a multi-byte character may span two chunks.
  return (await copyBytes(pool, sql)).toString("utf8");
}

/** Runs `COPY ... TO STDOUT` on a pooled connection; the whole output. */
async function copyBytes(pool: pg.Pool, sql: string): Promise<Buffer> {
  const client = await pool.connect();
  let broken = false;
  try {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of client.query(copyTo(sql))) chunks.push(chunk as Buffer);
    } catch (e) {
      // A connection whose COPY was interrupted is in an unknown protocol state.
      broken = true;
      throw e;
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  } finally {
    client.release(broken ? true : undefined);
  }
}

/**
 * Ids that do not parse as the column type (e.g. "abc" for an int column) are
 * never rows: on an input-syntax error the batch is split until the bad ids
 * stand alone.
 */
export async function existingIds(
  db: Queryable,
  sql: string,
  ids: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  if (ids.length === 0) return found;
  try {
    const r = await db.query<{ id: string }>(sql, [ids]);
    for (const row of r.rows) found.add(row.id);
    return found;
  } catch (e) {
    const code = (e as pg.DatabaseError).code;
    // 22P02 invalid_text_representation, 22003 out of range, 22007/22008 datetime, 22023
    if (!code?.startsWith("22")) throw e;
    if (ids.length === 1) return found;
    const mid = Math.floor(ids.length / 2);
    const a = await existingIds(db, sql, ids.slice(0, mid));
    const b = await existingIds(db, sql, ids.slice(mid));
    return new Set([...a, ...b]);
  }
}
