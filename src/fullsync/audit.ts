import type pg from "pg";
import { closeBracket, openBracket } from "../coordination/bracket.js";
import type { WatermarkCoordinator, WatermarkWindow } from "../coordination/watermarks.js";
import type { AuditResult, AuditSettings } from "../db/repositories/audits.js";
import type { JobRow } from "../db/repositories/runs.js";
import type { JobDocuments } from "../documents/index.js";
import type { WindowReader } from "../documents/window-reader.js";
import { documentValuesEqual } from "../json/codec.js";
import type { Logger } from "../lifecycle/index.js";
import type { TypesenseBackend } from "../typesense/index.js";
import type { Document } from "../typesense/types.js";
import { describeOnce } from "./attempt-env.js";
import { createIdPager } from "./audit-source.js";
import { idsWithoutRow, streamedIdsWithoutRow } from "./rows-gone.js";

/*
 * The drift audit (issue 18 point 1; docs/audit.md): a job's collection
 * compared with its source, the drift reported and (audit_repair) repaired.
 *
 * Two passes, memory bounded by one page (never the table):
 *
 *   source pass   the source ids in id order, `pageSize` at a time (audit-source.ts):
 *                 which of them Typesense holds (an id-only export of the page), the
 *                 sampled ones' contents compared with the source rendered exactly as
 *                 a full sync renders it (the job's window reader: plain or spec job)
 *                 -> missing (rendered, not in Typesense), differing (both, unequal)
 *   typesense     every id of the collection streamed (export), checked against the
 *   pass          source in chunks: no source row (or outside a spec's filter) -> extra.
 *                 Only the extra ids are held, as in the orphan sweep.
 *
 * Repair, per page (or chunk of extras), in the order a full-sync window uses
 * (watermarked.ts), so the repair never writes an image older than one the
 * CDC stream wrote:
 *
 *   (1) openBracket(ids)   BEFORE the source rows are read (CDC streams the job here)
 *   (2) read, compare      the docs to re-send are the rows as read after (1)
 *   (3) close(docs, deletes) -> the stream writes them at its high watermark, except
 *       ids it changed after (1) (superseded: it carries a newer image)
 *
 * Not streamed here: with CDC off the repair writes directly (upsert, delete:
 * idempotent); with CDC on but the stream elsewhere (another instance leads the
 * client, or the stream is down) the drift is reported and NOT repaired
 * (repair_skipped): a direct write could overwrite a newer image of that stream.
 */

/** What an audit calls of the Typesense backend. */
export type AuditBackend = Pick<
  TypesenseBackend,
  | "exportDocuments"
  | "exportIds"
  | "getDocuments"
  | "getCollection"
  | "importDocuments"
  | "deleteDocuments"
>;

export interface AuditEnv {
  readonly control: pg.Pool;
  readonly source: pg.Pool;
  readonly backend: AuditBackend;
  readonly job: JobRow;
  /** CDC coordination (as in a full sync); undefined: this instance never streams. */
  readonly watermarks?: WatermarkCoordinator;
  readonly signal?: AbortSignal;
  readonly log: Logger;
  /** Source ids per page (and Typesense ids per chunk). Default: the job's window_size. */
  readonly pageSize?: number;
  /** Picks the sampled documents (default Math.random). */
  readonly random?: () => number;
  /** Renews the audit's claim after each page; false: stop (another instance took it). */
  readonly renew?: () => Promise<boolean>;
  readonly hooks?: AuditHooks;
}

export interface AuditHooks {
  /** Test hook: after a page's rows were read, before its repair is written (awaited). */
  readonly beforeRepairWrite?: (ids: readonly string[]) => void | Promise<void>;
}

/** At most this many ids of each kind are kept for the report. */
export const REPORTED_IDS = 20;
/** Default content sample: every document up to this many rows, about this many above. */
export const AUTO_SAMPLE_ROWS = 100_000;

/** The audit's running tally. */
interface Tally {
  result: AuditResult;
  /** The repair writes of this audit: on, and allowed (see repair_skipped). */
  repairing: boolean;
}

export class AuditStoppedError extends Error {
  override readonly name = "AuditStoppedError";
  constructor() {
    super("the audit stopped (its claim was lost or the instance is stopping)");
  }
}

/** Runs one audit of `env.job`; throws on a source or Typesense failure (the audit fails). */
export async function auditJob(env: AuditEnv, settings: AuditSettings): Promise<AuditResult> {
  const { table, mapper, reader } = await describeOnce(env.source, env.job)();
  const collection = env.job.collectionName;
  const summary = await env.backend.getCollection(collection);
  const estimated = Math.max(table.estimatedRows, 0);
  const sample =
    settings.sample ?? (estimated <= AUTO_SAMPLE_ROWS ? 1 : AUTO_SAMPLE_ROWS / estimated);
  const streamed = env.watermarks?.isStreaming(env.job.id) === true;
  const skipped = !settings.repair
    ? "audit_repair is off"
    : env.job.cdcEnabled && !streamed
      ? "CDC is on but its stream does not apply the job on this instance"
      : null;
  const t: Tally = {
    repairing: settings.repair && skipped === null,
    result: {
      sample,
      repair: settings.repair,
      sourceCount: 0,
      typesenseCount: summary?.num_documents ?? 0,
      comparedCount: 0,
      missing: { count: 0, ids: [] },
      extra: { count: 0, ids: [] },
      differing: { count: 0, ids: [] },
      repaired: { missing: 0, extra: 0, differing: 0 },
      superseded: 0,
      repairSkipped: null,
    },
  };
  if (summary) {
    await sourcePass(env, mapper, reader, t);
    await typesensePass(env, reader, t);
  }
  const found = t.result.missing.count + t.result.extra.count + t.result.differing.count;
  if (found > 0) t.result.repairSkipped = skipped;
  return t.result;
}

function note(kind: { count: number; ids: string[] }, id: string): void {
  kind.count++;
  if (kind.ids.length < REPORTED_IDS) kind.ids.push(id);
}

async function checkpoint(env: AuditEnv): Promise<void> {
  if (env.signal?.aborted) throw new AuditStoppedError();
  if (env.renew && !(await env.renew())) throw new AuditStoppedError();
}

/** The source ids page by page: missing and differing documents, repaired per page. */
async function sourcePass(
  env: AuditEnv,
  mapper: JobDocuments,
  reader: WindowReader,
  t: Tally,
): Promise<void> {
  const pager = createIdPager(env.source, mapper);
  const size = env.pageSize ?? env.job.windowSize;
  const random = env.random ?? Math.random;
  for (let after: string | null = null; ; ) {
    const ids = await pager.page(after, size);
    if (ids.length === 0) return;
    after = ids[ids.length - 1]!;
    await auditPage(env, reader, t, ids, () => t.result.sample >= 1 || random() < t.result.sample);
    await checkpoint(env);
    if (ids.length < size) return;
  }
}

/**
 * One page of source ids (ascending). Reads the sampled ids and the ids
 * Typesense lacks (a spec's filter may leave a root row out: only a rendered
 * row is a missing document), AFTER the bracket registered them.
 */
async function auditPage(
  env: AuditEnv,
  reader: WindowReader,
  t: Tally,
  ids: readonly string[],
  sampled: () => boolean,
): Promise<void> {
  const inTs = await presentIds(env, ids);
  const compare = ids.filter((id) => inTs.has(id) && sampled());
  const compared = new Set(compare);
  const toRead = ids.filter((id) => !inTs.has(id) || compared.has(id));
  if (toRead.length === 0) {
    t.result.sourceCount += ids.length;
    return;
  }
  const bracket = t.repairing ? openBracket(env, toRead) : null;
  let found: { repair: Document[]; kinds: Map<string, "missing" | "differing"> };
  try {
    found = await comparePage(env, reader, t, ids, toRead, compare, inTs);
  } catch (e) {
    // nothing handed to the stream yet: the registration is dropped
    bracket?.abandon();
    throw e;
  }
  const { repair, kinds } = found;
  if (!t.repairing || repair.length === 0) {
    bracket?.abandon();
    return;
  }
  await env.hooks?.beforeRepairWrite?.(repair.map((d) => d.id));
  const written = await writeRepair(env, reader, bracket, repair, []);
  t.result.superseded += written.superseded.length;
  for (const id of written.written) t.result.repaired[kinds.get(id)!]++;
}

/** (2) of a page: the source rows read (after the bracket opened) and compared; the tally noted. */
async function comparePage(
  env: AuditEnv,
  reader: WindowReader,
  t: Tally,
  ids: readonly string[],
  toRead: readonly string[],
  compare: readonly string[],
  inTs: ReadonlySet<string>,
): Promise<{ repair: Document[]; kinds: Map<string, "missing" | "differing"> }> {
  const read = await reader.readOrdered(toRead);
  // ids read but not rendered: deleted since the page or outside a spec's
  // filter; the Typesense pass reports a doc of theirs as extra
  t.result.sourceCount += ids.length - read.missing.length;
  const tsDocs =
    compare.length > 0
      ? await env.backend.getDocuments(env.job.collectionName, compare)
      : new Map<string, Document>();
  const kinds = new Map<string, "missing" | "differing">();
  for (const doc of read.documents.values()) {
    const old = tsDocs.get(doc.id);
    if (!inTs.has(doc.id)) kinds.set(doc.id, "missing");
    else if (old) {
      t.result.comparedCount++;
      if (!documentValuesEqual(old, doc)) kinds.set(doc.id, "differing");
    }
  }
  for (const id of ids) {
    const k = kinds.get(id);
    if (k) note(t.result[k], id);
  }
  return { repair: [...read.documents.values()].filter((d) => kinds.has(d.id)), kinds };
}

/** Which of `ids` the collection holds (an id-only export of exactly those ids). */
async function presentIds(env: AuditEnv, ids: readonly string[]): Promise<Set<string>> {
  const docs = await env.backend.exportDocuments(env.job.collectionName, {
    ids,
    includeFields: "id",
  });
  return new Set(docs.map((d) => d.id));
}

/**
 * The Typesense ids streamed, each chunk checked against the source: ids
 * without a source row are extra. They are collected while the export runs
 * and deleted after it (Typesense's export is no stable cursor under deletes).
 */
async function typesensePass(env: AuditEnv, reader: WindowReader, t: Tally): Promise<void> {
  const size = Math.max(env.pageSize ?? env.job.windowSize, 1);
  const extra = await streamedIdsWithoutRow(
    reader,
    env.backend.exportIds(env.job.collectionName),
    size,
  );
  for (const id of extra) note(t.result.extra, id);
  if (!t.repairing) return;
  for (let i = 0; i < extra.length; i += size) {
    const candidates = extra.slice(i, i + size);
    // (1) BEFORE the re-check: a row inserted after it supersedes the delete
    const bracket = openBracket(env, candidates);
    let gone: string[];
    try {
      gone = await idsWithoutRow(reader, candidates);
    } catch (e) {
      bracket?.abandon();
      throw e;
    }
    if (gone.length === 0) {
      bracket?.abandon();
      continue;
    }
    const written = await writeRepair(env, reader, bracket, [], gone);
    t.result.superseded += written.superseded.length;
    t.result.repaired.extra += written.written.length;
    await checkpoint(env);
  }
}

/**
 * The repair write of one page: through the stream at its watermark when
 * bracketed (re-read when the stream stopped and is back, never written
 * directly), else directly (CDC off: nothing else writes the job's docs).
 */
async function writeRepair(
  env: AuditEnv,
  reader: WindowReader,
  bracket: WatermarkWindow | null,
  docs: readonly Document[],
  deletes: readonly string[],
): Promise<{ written: string[]; superseded: string[] }> {
  if (bracket) {
    const { outcome } = await closeBracket(
      env,
      bracket,
      { docs: new Map(docs.map((d) => [d.id, d])), deletes },
      (ids) => reader.read(ids),
    );
    return { written: outcome.written, superseded: outcome.superseded };
  }
  const collection = env.job.collectionName;
  const written: string[] = [];
  if (docs.length > 0) {
    const results = await env.backend.importDocuments(collection, docs, { action: "upsert" });
    results.forEach((r, i) => {
      if (r.ok) written.push(docs[i]!.id);
      else
        env.log.warn(
          { docId: docs[i]!.id, error: r.error },
          "audit repair: Typesense rejected a document",
        );
    });
  }
  if (deletes.length > 0) {
    await env.backend.deleteDocuments(collection, deletes);
    written.push(...deletes);
  }
  return { written, superseded: [] };
}
