import type pg from "pg";
import { CatalogError, type Queryable, type TableInfo } from "../catalog/index.js";
import type { Pools } from "../db/pool.js";
import type { DocumentSpec } from "../db/repositories/document-spec.js";
import type { JobInput } from "../db/repositories/job-schema.js";
import { profileExists } from "../db/repositories/jobs.js";
import { inReadOnlyTransaction } from "../db/transaction.js";
import {
  type DroppedValue,
  describeAndMap,
  type JobSource,
  qualifiedTable,
  quoteIdent,
} from "../documents/index.js";
import {
  DocumentSpecError,
  type ResolvedDocument,
  replicaIdentityWarnings,
  resolveDocumentSpec,
  sampleDocuments,
} from "../documents/spec/index.js";
import { ServiceError } from "../errors/service-error.js";
import type { CollectionSchema, Document } from "../typesense/types.js";
import { assertClientAllowed, type ClientScope } from "./client-scope.js";
import { InvalidInputError, isUuid, pgCode, UnavailableError } from "./errors.js";
import { mappedColumns } from "./job-validation.js";

/** A job body as the preview takes it: a create body, the spec, how many samples. */
export type PreviewInput = Omit<JobInput, "profile_id"> & {
  /** Not needed for a preview (no backend is touched); checked when given, as create does. */
  profile_id?: string | undefined;
  limit: number;
};

/** Something the operator should know before creating the job; the job would still be accepted. */
export interface PreviewWarning {
  /** `value_dropped`: a value that does not convert; `deletes_need_key`: deletes cannot name the doc. */
  kind: "value_dropped" | "deletes_need_key" | (string & {});
  message: string;
  /** The document field (or job field) concerned. */
  field?: string;
  document_id?: string;
}

export interface JobPreview {
  /** The collection the first run would make (the ownership mark is added at creation). */
  schema: CollectionSchema;
  /** The first `limit` rows (in document id order) as the job would write them. */
  documents: Document[];
  warnings: PreviewWarning[];
}

/**
 * How a table's deletes carry the document id, decided by CDC setup's rule
 * (cdc/setup.ts identityProblem). The route passes it in: control/ sits below
 * cdc/ (docs/architecture.md), and the preview must say what setup will say.
 */
export type IdentityRule = (table: TableInfo, idColumn: string) => string | null;

/** Every preview statement runs read-only under this timeout (operator-written SQL included). */
export const PREVIEW_STATEMENT_TIMEOUT_MS = 5000;

/**
 * What creating `input` would make, computed and thrown away: the collection
 * schema, the first `limit` documents and warnings. NOTHING is written: no job
 * row, no collection, no run; the source is read only in READ ONLY
 * transactions under a statement_timeout (the spec's catalog session, the
 * sample), so neither a spec's SQL nor a slow table can change or hold it. The checks are job create's (same scope rule,
 * same mapper, same CatalogError naming the column), except that what create
 * only needs for CDC deletes (a unique id column, a replica identity) is a
 * warning here, so the operator sees the documents and the reason together.
 */
export async function previewJob(
  pools: Pools,
  input: PreviewInput,
  scope: ClientScope,
  identityProblem: IdentityRule,
): Promise<JobPreview> {
  assertClientAllowed(scope, input.source_client_name);
  if (input.profile_id !== undefined) {
    const ok = isUuid(input.profile_id) && (await profileExists(pools.control, input.profile_id));
    if (!ok) {
      throw new InvalidInputError(`profile_id ${input.profile_id}: no such backend`, "profile_id");
    }
  }
  if (input.document !== null && input.document !== undefined) {
    return previewSpec(pools, input, input.document, identityProblem);
  }
  return onSourceReadOnly(pools, input.source_client_name, (db) =>
    previewPlain(db, input, identityProblem),
  );
}

/**
 * With a spec: resolved against the catalog exactly as job create resolves it
 * (a bad spec is DocumentSpecError, 400 DOCUMENT_SPEC_INVALID naming each
 * path), sampled by the ONE rendering statement every write path uses.
 */
async function previewSpec(
  pools: Pools,
  input: PreviewInput,
  spec: DocumentSpec,
  identityProblem: IdentityRule,
): Promise<JobPreview> {
  const client = input.source_client_name;
  // job create's own checks first (validateJobSource's mapper: the id column, and the
  // columns it checks for this spec: job-validation.ts mappedColumns)
  await onSourceReadOnly(pools, client, (db) =>
    describeAndMap(db, { ...mapperJobOf(input), ...mappedColumns({ ...input, document: spec }) }),
  );
  let resolved: ResolvedDocument;
  try {
    resolved = await resolveDocumentSpec(
      pools.source(client),
      {
        schema: input.source_schema_name,
        table: input.source_table_name,
        documentIdColumn: input.document_id_column,
        includedColumns: input.included_columns,
        queryableFields: input.queryable_fields,
      },
      spec,
      { statementTimeoutMs: PREVIEW_STATEMENT_TIMEOUT_MS },
    );
  } catch (e) {
    throw unavailableUnlessNamed(e, client);
  }
  const sample = await onSourceReadOnly(pools, client, async (db) => {
    try {
      // sampleDocuments only calls query(), which a client in this read-only
      // transaction has as a pool does: the spec's SQL (fields, filter,
      // order_by) runs here for real, so it must not be able to write
      return await sampleDocuments(db as unknown as pg.Pool, resolved, input.limit);
    } catch (e) {
      throw specRuntimeError(e);
    }
  });
  const identity = new Set(replicaIdentityWarnings(resolved));
  // the root's own one is said by keyWarnings below, in CDC setup's words
  const rootIdentity = new Set(replicaIdentityWarnings({ ...resolved, lookups: [], children: [] }));
  const warnings: PreviewWarning[] = [];
  for (const message of sample.warnings) {
    if (!identity.has(message)) warnings.push({ kind: "value_dropped", message });
    // a lookup's or child's changes that cannot name their roots: a CDC concern, like the root's
    else if (input.cdc_enabled === true && !rootIdentity.has(message)) {
      warnings.push({ kind: "deletes_need_key", message });
    }
  }
  const root = resolved.root;
  const unique = root.uniqueColumns.includes(resolved.idColumn.name);
  warnings.push(...keyWarnings(root, input, unique, identityProblem));
  return {
    schema: resolved.collectionSchema(input.collection_name),
    documents: sample.documents,
    warnings,
  };
}

/**
 * Runs `fn` in a READ ONLY transaction on the client's pool with a local
 * statement_timeout, rolled back at the end (db/transaction.ts). A CatalogError or a spec error passes through; a connection
 * failure is 503 naming the client, as job create's validation says, and so
 * is a read that hit the timeout.
 */
async function onSourceReadOnly<T>(
  pools: Pools,
  client: string,
  fn: (db: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const pool = pools.source(client);
  try {
    return await inReadOnlyTransaction(pool, PREVIEW_STATEMENT_TIMEOUT_MS, fn);
  } catch (e) {
    throw unavailableUnlessNamed(e, client);
  }
}

/**
 * The spec's SQL failed while rendering the sample (an expression that
 * divides by zero on some row, a function that writes in the read-only
 * transaction): the spec's problem, 400 naming `document` with Postgres'
 * words. A timeout or a lost connection stays what it is (503).
 */
function specRuntimeError(e: unknown): unknown {
  const code = pgCode(e);
  if (e instanceof ServiceError || !isSqlState(code) || /^(08|57)/.test(code)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new DocumentSpecError([
    { path: "document", message: `rendering the sample documents failed: ${message}` },
  ]);
}

/**
 * A named error (CatalogError, DocumentSpecError, ...) as it is; a read that
 * ran out of statement_timeout or a database that cannot be reached as 503
 * naming the client; anything else (a bug) as it is.
 */
function unavailableUnlessNamed(e: unknown, client: string): unknown {
  if (e instanceof ServiceError) return e;
  const code = pgCode(e);
  if (code === "57014") {
    return new UnavailableError(
      `the preview's read of client "${client}" took longer than ${PREVIEW_STATEMENT_TIMEOUT_MS} ms (statement_timeout)`,
    );
  }
  // no SQLSTATE (a socket error) or a connection class: the database is not reachable
  if (!isSqlState(code) || /^(08|57P)/.test(code)) {
    return new UnavailableError(`source database of client "${client}" is unavailable`);
  }
  return e;
}

const isSqlState = (code: string | undefined): code is string =>
  code !== undefined && /^[0-9A-Z]{5}$/.test(code);

/** The job's rows and mapping fields, as job create's validation reads them. */
function mapperJobOf(input: PreviewInput): JobSource {
  return {
    schema: input.source_schema_name,
    table: input.source_table_name,
    documentIdColumn: input.document_id_column,
    includedColumns: input.included_columns,
    queryableFields: input.queryable_fields,
  };
}

/** Without a spec: today's mapper, its schema and `limit` rows through rowToDocument. */
async function previewPlain(
  db: Queryable,
  input: PreviewInput,
  identityProblem: IdentityRule,
): Promise<JobPreview> {
  const warnings: PreviewWarning[] = [];
  const onDroppedValue = (d: DroppedValue) =>
    warnings.push({
      kind: "value_dropped",
      field: d.column,
      document_id: d.documentId,
      message: `document ${d.documentId}: field "${d.column}" left out: ${d.reason}`,
    });
  const { table, mapper } = await describeAndMap(db, {
    ...mapperJobOf(input),
    options: { onDroppedValue },
  });
  warnings.push(...keyWarnings(table, input, mapper.idIsUnique, identityProblem));
  const rows = await db.query<Record<string, string | null>>(
    `select ${mapper.selectList} from ${qualifiedTable(mapper)}
      where ${mapper.idColumnSql} is not null
      order by ${qualifiedTable(mapper)}.${mapper.idColumnSql} limit $1`,
    [input.limit],
  );
  const documents = rows.rows.map((r) => mapper.rowToDocument(r));
  return { schema: mapper.collectionSchema(input.collection_name), documents, warnings };
}

/**
 * "Deletes need a key": a document id column that is not unique on its own
 * (job create refuses it: two rows would write one document), and, for a CDC
 * job, a table whose deletes do not carry the id (CDC setup refuses to stream it).
 */
export function keyWarnings(
  table: TableInfo,
  input: Pick<PreviewInput, "document_id_column" | "cdc_enabled">,
  idIsUnique: boolean,
  identityProblem: IdentityRule,
): PreviewWarning[] {
  const out: PreviewWarning[] = [];
  const id = input.document_id_column;
  if (!idIsUnique) {
    const where = new CatalogError({ schema: table.schema, table: table.table, column: id }, "");
    out.push({
      kind: "deletes_need_key",
      field: "document_id_column",
      message: `${where.message.trim()} is not unique on its own: rows sharing an id write one document and deletes cannot name their document; job create refuses it (add a primary key or a unique index on ${quoteIdent(id)})`,
    });
  }
  const problem = input.cdc_enabled === true ? identityProblem(table, id) : null;
  if (problem !== null) {
    out.push({
      kind: "deletes_need_key",
      field: "cdc_enabled",
      message: `CDC cannot stream this job's deletes: ${problem}`,
    });
  }
  return out;
}
