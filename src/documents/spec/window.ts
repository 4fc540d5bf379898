import pg from "pg";
import type { Queryable } from "../../catalog/index.js";
import type { DocumentSpec, DocumentSpecInput } from "../../db/repositories/document-spec.js";
import { quoteIdent } from "../../db/sql-text.js";
import { parseJson } from "../../json/codec.js";
import type { CollectionSchema, Document } from "../../typesense/types.js";
import type { DocumentMapper } from "../document-mapper.js";
import {
  existingIds,
  readRendered,
  renderingQualifies,
  type WindowRead,
  type WindowReader,
} from "../window-reader.js";
import { DocumentSpecError } from "./errors.js";
import { renderSpecSql, type SpecSql } from "./render.js";
import { resolveDocumentSpec } from "./resolve.js";
import type { ResolvedDocument, SpecJob } from "./types.js";

/**
 * What a full-sync attempt needs of a job's documents besides the reader: the
 * manifest's id source (table, id column), whether ids are unique, and the
 * collection schema. A DocumentMapper is one; a resolved spec gives another.
 */
export type JobDocuments = Pick<
  DocumentMapper,
  "table" | "idColumn" | "idColumnSql" | "idIsUnique" | "collectionSchema"
>;

/** The spec's side of JobDocuments. */
export function specDocuments(resolved: ResolvedDocument): JobDocuments {
  return {
    table: resolved.root,
    idColumn: resolved.idColumn,
    idColumnSql: quoteIdent(resolved.idColumn.name),
    idIsUnique: resolved.root.uniqueColumns.includes(resolved.idColumn.name),
    collectionSchema: (name: string): CollectionSchema => resolved.collectionSchema(name),
  };
}

/**
 * The window reader of a spec job: every read is the spec's ONE statement
 * (renderSpecSql), so full sync, CDC refetch and dead-letter retry write the
 * same bytes. A root row outside the filter is not returned: it is `missing`,
 * which the windows treat like a row deleted since the manifest (its document,
 * if the collection has one, is deleted), and the orphan sweep's `existing`
 * leaves it out likewise. So the manifest holds every root id and the filter
 * is applied when a window reads (docs/documents.md "Full sync").
 */
export function createSpecWindowReader(
  source: Queryable,
  resolved: ResolvedDocument,
): WindowReader {
  const sql = renderSpecSql(resolved);
  const qualifies = renderingQualifies();
  return {
    read: (ids, db) => readByIds(db ?? source, sql, ids),
    async readOrdered(ids, db) {
      const first = ids[0];
      const last = ids[ids.length - 1];
      if (first === undefined || last === undefined) return { documents: new Map(), missing: [] };
      const r = await (db ?? source).query<{ id: string; document: string }>(sql.range, [
        first,
        last,
      ]);
      return collect(r.rows, ids);
    },
    existing: (ids, db) => existingIds(db ?? source, sql.existingByIds, ids),
    async readOrderedRendered(ids, db) {
      const pool = db ?? source;
      if (!(pool instanceof pg.Pool) || !(await qualifies(pool))) return null;
      const first = ids[0];
      const last = ids[ids.length - 1];
      if (first === undefined || last === undefined) {
        return {
          ids: [],
          lines: { body: Buffer.alloc(0), count: 0, starts: new Int32Array(1) },
          missing: [],
        };
      }
      return readRendered(pool, sql.rangeCopy(first, last), ids);
    },
  };
}

async function readByIds(db: Queryable, sql: SpecSql, ids: readonly string[]): Promise<WindowRead> {
  if (ids.length === 0) return { documents: new Map(), missing: [] };
  const r = await db.query<{ id: string; document: string }>(sql.byIds, [ids]);
  return collect(r.rows, ids);
}

/** The documents of the requested ids (a range read also returns rows inserted since the manifest). */
function collect(
  rows: ReadonlyArray<{ id: string; document: string }>,
  ids: readonly string[],
): WindowRead {
  const wanted = new Set(ids);
  const documents = new Map<string, Document>();
  for (const row of rows) {
    if (wanted.has(row.id)) documents.set(row.id, parseJson(row.document) as Document);
  }
  return { documents, missing: ids.filter((x) => !documents.has(x)) };
}

/**
 * Resolves a spec job for a reader of its rows (a full-sync attempt): the
 * catalog as it is now, so a column dropped since the spec was stored fails
 * the run with the spec's problems. The spec renders only in SQL, so the
 * server must qualify for the renderings (PostgreSQL >= 14, shortest-exact
 * floats, ISO DateStyle: what source pools pin).
 */
export async function describeSpecJob(
  source: pg.Pool,
  job: SpecJob,
  spec: DocumentSpec | DocumentSpecInput,
): Promise<{ resolved: ResolvedDocument; documents: JobDocuments; reader: WindowReader }> {
  const resolved = await resolveDocumentSpec(source, job, spec);
  if (!(await renderingQualifies()(source))) {
    throw new DocumentSpecError([
      {
        path: "document",
        message:
          "the source server does not qualify for SQL-rendered documents (needs PostgreSQL >= 14, extra_float_digits >= 1 and DateStyle ISO, which source pools set)",
      },
    ]);
  }
  return {
    resolved,
    documents: specDocuments(resolved),
    reader: createSpecWindowReader(source, resolved),
  };
}
