import pg from "pg";
import type { Queryable } from "../catalog/index.js";
import type { ClientScope } from "../control/client-scope.js";
import { assertOpen, getDeadLetter } from "../control/dead-letters.js";
import { ConflictError, UnavailableError } from "../control/errors.js";
import type { SecretBox } from "../control/secret-box.js";
import { onceMoreOnNetworkError, type TypesenseClients } from "../control/typesense-clients.js";
import {
  type DeadLetterRecord,
  type LetterJob,
  recordDeadLetterFailure,
  resolveDeadLetter,
  selectLetterJob,
} from "../db/repositories/dead-letters.js";
import { invalidateHashes } from "../db/repositories/doc-hashes.js";
import { inTransaction } from "../db/transaction.js";
import { describeAndMap, describeSpecJob } from "../documents/index.js";
import { createWindowReader, type WindowReader } from "../documents/window-reader.js";
import {
  CollectionNotOwnedError,
  type Document,
  ownershipOf,
  type TypesenseBackend,
} from "../typesense/index.js";
import type { WatermarkCoordinator } from "./watermarks.js";

export type RetryOutcome =
  | { outcome: "resolved"; letter: DeadLetterRecord; action: "written" | "deleted" | "superseded" }
  | { outcome: "rejected"; letter: DeadLetterRecord; code: number; error: string };

export interface RetryDeps {
  control: pg.Pool;
  /** Source database of a client (db/ Pools.source; throws for an unknown client). */
  source(clientName: string): Queryable;
  box: SecretBox;
  clients: TypesenseClients;
  /** The registry this instance's CDC streams attach to (serve); absent: no stream here. */
  watermarks?: WatermarkCoordinator | undefined;
  /** The config's `cdc.enabled`: whether CDC jobs are streamed at all. */
  cdcActive: boolean;
  /** How long a bracketed retry waits for the stream's watermark. Default 15 s. */
  watermarkTimeoutMs?: number;
}

/** What the source holds for the letter's id now: its document, or null (row gone). */
type Current = { doc: Document | null };

/**
 * Retry = write the row's CURRENT document, read from the source now with
 * full sync's reader and mapper (window-reader.ts, rowToDocument), or delete
 * the doc when the row is gone; never the stored payload, which can be older
 * than what CDC wrote since. Whatever the letter's operation was.
 *   Typesense accepts   -> letter `resolved` (resolved_at set).
 *   Typesense rejects   -> letter stays `open`, attempts + 1, new error stored.
 *   Typesense down/slow -> TypesenseError propagates (503/504); letter unchanged.
 *
 * Ordering (the never-older rule CDC writes follow):
 * - job streamed by CDC in THIS instance (its stream attached to `watermarks`):
 *   the id is registered (low watermark) BEFORE the row is read, and the
 *   stream writes the read version at the high watermark, in stream order; a
 *   change the stream delivers after the registration supersedes the read (the
 *   stream carries that newer version: the letter is resolved, a rejection of
 *   that write opens a new letter). So a stream write that happened meanwhile
 *   is never overwritten.
 * - job streamed by CDC but not here (another instance leads its client, or
 *   its stream is not attached): 409, a direct write could overwrite a newer
 *   stream write. Retry on the leading instance once its stream runs.
 * - no CDC for the job: read, then write directly (as an unbracketed full-sync
 *   window does).
 *
 * The letter row is locked for the duration, so concurrent retries of one
 * letter run one after the other (the second sees it resolved: 409).
 */
export async function retryDeadLetter(
  deps: RetryDeps,
  id: string,
  scope: ClientScope,
): Promise<RetryOutcome> {
  const plan = await inTransaction(deps.control, async (db) => {
    const letter = await getDeadLetter(db, id, scope, true);
    assertOpen(letter, "retried");
    if (letter.doc_id === null) {
      throw new ConflictError(
        `dead letter ${id} is about rows without a document id: fix the rows (or the job's document_id_column) and discard it`,
      );
    }
    const row = await selectLetterJob(db, id);
    const bracketed = deps.watermarks?.isStreaming(row.job_id) === true;
    if (row.streamed && deps.cdcActive && !bracketed) {
      throw new ConflictError(
        `job ${row.job_id} is streamed by CDC, but not by this instance: retry on the instance that leads source client "${row.source_client_name}" (typesense_cdc_streams.leader_instance) once its stream runs`,
      );
    }
    const reader = await readerFor(deps, row);
    if (bracketed) return { bracketed: true as const, row, reader, docId: letter.doc_id };
    const backend = deps.clients.forSaved({
      profileId: row.profile_id,
      nodes: [row.base_url, ...row.additional_node_urls],
      apiKey: deps.box.open(row.api_key_stored, row.profile_id),
      timeoutMs: row.timeout_ms,
    });
    const current = await readCurrent(reader, letter.doc_id);
    return {
      bracketed: false as const,
      done: await directRetry(db, backend, row.collection_name, letter, current),
    };
  });
  if (!plan.bracketed) return plan.done;
  // Bracketed: no lock is held while the stream writes. Its checkpoint resolves
  // open letters of the ids it wrote, which would wait for this letter's row
  // lock while the window waits for that checkpoint. The outcome is recorded
  // after, under the lock again; a concurrent retry of the same letter writes
  // the same current row through the same stream (idempotent).
  const w = deps.watermarks!;
  const write = await bracketedWrite(deps, w, plan.reader, plan.row.job_id, plan.docId);
  return inTransaction(deps.control, async (db) => {
    const letter = await getDeadLetter(db, id, scope, true);
    // resolved meanwhile (by the stream's checkpoint of this write) or discarded
    if (letter.status !== "open") return { outcome: "resolved", action: write.action, letter };
    if (write.rejection) return rejected(db, letter, write.rejection.code, write.rejection.error);
    return { outcome: "resolved", action: write.action, letter: await resolveDeadLetter(db, id) };
  });
}

/** Full sync's reader for the job's table and mapping (or document spec), as they are now. */
async function readerFor(deps: RetryDeps, row: LetterJob): Promise<WindowReader> {
  let source: Queryable;
  try {
    source = deps.source(row.source_client_name);
  } catch (e) {
    throw new UnavailableError(
      `source client "${row.source_client_name}" of job ${row.job_id}: ${(e as Error).message}`,
    );
  }
  const job = {
    schema: row.source_schema_name,
    table: row.source_table_name,
    documentIdColumn: row.document_id_column,
    includedColumns: row.included_columns,
    queryableFields: row.queryable_fields,
  };
  if (row.document) {
    // a spec job: the spec's one statement (byIds), the same bytes full sync
    // and CDC write; a root outside the filter reads as gone (deleted)
    if (!(source instanceof pg.Pool)) {
      throw new UnavailableError(`source client "${row.source_client_name}" is not a pool`);
    }
    return (await describeSpecJob(source, job, row.document)).reader;
  }
  const { mapper } = await describeAndMap(source, job);
  return createWindowReader({ source, mapper });
}

/** The row of `docId` now; existing() first: a doc id that is not of the id column's type has no row. */
async function readCurrent(reader: WindowReader, docId: string): Promise<Current> {
  const present = await reader.existing([docId]);
  if (!present.has(docId)) return { doc: null };
  const read = await reader.read([docId]);
  return { doc: read.documents.get(docId) ?? null };
}

async function directRetry(
  db: pg.PoolClient,
  backend: TypesenseBackend,
  collection: string,
  letter: DeadLetterRecord,
  current: Current,
): Promise<RetryOutcome> {
  // never into a collection the job does not own (issue 19 point 3): a job
  // whose collection was replaced by a hand-made one must not write into it
  const own = ownershipOf(await backend.getCollection(collection), letter.job_id);
  if (own.kind === "unmarked" || own.kind === "other-job") {
    throw new CollectionNotOwnedError(collection, own);
  }
  // The retry writes a doc no content hash vouches for: its claim goes
  // (docs/full-sync.md "Content hashes"), in the transaction that resolves it.
  await invalidateHashes(db, letter.job_id, [letter.doc_id!]);
  if (current.doc === null) {
    // a missing doc counts as deleted
    await onceMoreOnNetworkError(() => backend.deleteDocuments(collection, [letter.doc_id!]));
    return {
      outcome: "resolved",
      action: "deleted",
      letter: await resolveDeadLetter(db, letter.id),
    };
  }
  const [result] = await backend.importDocuments(collection, [current.doc], { action: "upsert" });
  if (result?.ok) {
    return {
      outcome: "resolved",
      action: "written",
      letter: await resolveDeadLetter(db, letter.id),
    };
  }
  return rejected(db, letter, result ? result.code : 0, result ? result.error : "no import result");
}

interface BracketedResult {
  action: "written" | "deleted" | "superseded";
  rejection: { code: number; error: string } | null;
}

async function bracketedWrite(
  deps: RetryDeps,
  watermarks: WatermarkCoordinator,
  reader: WindowReader,
  jobId: string,
  docId: string,
): Promise<BracketedResult> {
  // (1) low watermark BEFORE the read: a change after this supersedes the read
  const w = watermarks.openWindow(jobId, [docId]);
  let current: Current;
  try {
    current = await readCurrent(reader, docId); // (2)
  } catch (e) {
    w.abandon();
    throw e;
  }
  const docs = new Map(current.doc ? [[docId, current.doc]] : []);
  let outcome: Awaited<ReturnType<typeof w.close>>;
  try {
    // (3) high watermark: the stream writes (or deletes) the survivor in stream order
    outcome = await w.close(docs, {
      deletes: current.doc ? [] : [docId],
      recordRejections: false,
      signal: AbortSignal.timeout(deps.watermarkTimeoutMs ?? 15_000),
    });
  } catch (e) {
    throw new UnavailableError(
      `the CDC stream of job ${jobId} did not reach the retry's watermark (${(e as Error).message}); the letter is unchanged`,
    );
  }
  const r = outcome.rejections.find((x) => x.docId === docId);
  if (r) return { action: "written", rejection: { code: r.code ?? 0, error: r.error } };
  if (outcome.superseded.includes(docId)) return { action: "superseded", rejection: null };
  return { action: current.doc ? "written" : "deleted", rejection: null };
}

async function rejected(
  db: pg.PoolClient,
  letter: DeadLetterRecord,
  code: number,
  error: string,
): Promise<RetryOutcome> {
  const updated = await recordDeadLetterFailure(db, letter.id, { code, message: error });
  return { outcome: "rejected", letter: updated, code, error };
}
