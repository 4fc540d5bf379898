import type pg from "pg";
import { documentValuesEqual, serializeDocument } from "../catalog/index.js";
import type { Document } from "../typesense/types.js";
import type { RunContext } from "./context.js";
import { renewLease } from "./lease.js";
import { writeCheckpoint } from "./runs.js";
import { type Backup, saveBackups } from "./saga.js";

/** What one window did (also passed to the onWindowCommitted hook). */
export interface WindowSummary {
  runId: string;
  /** First manifest seq of the window. */
  fromSeq: number;
  /** next_manifest_seq after the window (exclusive end). */
  toSeq: number;
  rows: number;
  imported: number;
  unchanged: number;
  failed: number;
  deleted: number;
}

interface Rejected {
  docId: string;
  code: number;
  error: string;
  payload: string;
}

/** A window read and diffed, nothing written yet (safe to discard). */
export interface PreparedWindow {
  rows: readonly { seq: number; docId: string }[];
  /** New or changed documents to upsert. */
  changed: Document[];
  /** Pre-images of the window's ids that exist in Typesense now. */
  pre: Map<string, Document>;
  unchanged: number;
  /** Ids whose row vanished since the manifest while their doc exists. */
  vanished: string[];
}

/**
 * Read phase of a window: rows by id -> pre-images -> diff. It writes nothing,
 * so the engine runs it for window N+1 while window N is being written (the
 * windows' id sets are disjoint), and may drop it on abort.
 *
 * When the collection was empty when the attempt started (and ids are unique),
 * no doc of a later window can exist yet: the pre-image export is skipped.
 */
export async function prepareWindow(
  ctx: RunContext,
  rows: readonly { seq: number; docId: string }[],
): Promise<PreparedWindow> {
  if (rows.length === 0) throw new Error("prepareWindow: empty window");
  const ids = rows.map((r) => r.docId);
  const read = await ctx.reader.readOrdered(ids);
  const pre = ctx.collectionEmptyAtStart
    ? new Map<string, Document>()
    : await ctx.retry("export pre-images", () =>
        ctx.backend.getDocuments(ctx.job.collectionName, ids),
      );
  const changed: Document[] = [];
  let unchanged = 0;
  for (const doc of read.documents.values()) {
    const old = pre.get(doc.id);
    if (old && documentValuesEqual(old, doc)) unchanged++;
    else changed.push(doc);
  }
  // Rows deleted from the source since the manifest: their docs are orphans now.
  const vanished = read.missing.filter((id) => pre.has(id));
  return { rows, changed, pre, unchanged, vanished };
}

/**
 * Write phase, in this order (each step is safe to repeat after a crash,
 * because the checkpoint only moves at the end):
 *
 *   [saga] commit backups -> upsert changed docs (retry) + delete vanished docs
 *   -> ONE transaction: lease fence + checkpoint + counters + dead letters.
 *
 * Write to Typesense first, persist the checkpoint second: a crash in between
 * repeats the window, and every write in it is idempotent (upsert, delete).
 */
export async function commitWindow(
  ctx: RunContext,
  w: PreparedWindow,
  processedBefore: number,
): Promise<WindowSummary> {
  const { rows, changed, pre, vanished } = w;
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const collection = ctx.job.collectionName;

  if (ctx.sagaEnabled && (changed.length > 0 || vanished.length > 0)) {
    const seqOf = new Map(rows.map((r) => [r.docId, r.seq]));
    const backups: Backup[] = [];
    for (const doc of changed) {
      backups.push({
        docId: doc.id,
        preImage: pre.get(doc.id) ?? null,
        manifestSeq: seqOf.get(doc.id) ?? first.seq,
      });
    }
    for (const id of vanished) {
      backups.push({ docId: id, preImage: pre.get(id) ?? null, manifestSeq: seqOf.get(id)! });
    }
    // Backups are durable before the write below (see saga.ts).
    await saveBackups(ctx.control, ctx.runId, backups);
  }

  const rejected: Rejected[] = [];
  const importedIds: string[] = [];
  if (changed.length > 0) {
    const results = await ctx.retry("import", () =>
      ctx.backend.importDocuments(collection, changed, { action: "upsert" }),
    );
    if (results.length !== changed.length) {
      throw new Error(
        `import of ${changed.length} documents returned ${results.length} result lines`,
      );
    }
    results.forEach((res, i) => {
      const doc = changed[i]!;
      if (res.ok) importedIds.push(doc.id);
      else
        rejected.push({
          docId: doc.id,
          code: res.code,
          error: res.error,
          payload: serializeDocument(doc),
        });
    });
  }
  if (vanished.length > 0) {
    await ctx.retry("delete", () => ctx.backend.deleteDocuments(collection, vanished));
  }

  const c = ctx.counters;
  c.imported += importedIds.length;
  c.unchanged += w.unchanged;
  c.failed += rejected.length;
  c.deleted += vanished.length;
  const toSeq = last.seq + 1;
  const client = await ctx.control.connect();
  try {
    await client.query("begin");
    // Fence: only the lease holder may move the checkpoint (and this renews it).
    await renewLease(client, ctx.lease, ctx.leaseTtlMs);
    await writeCheckpoint(client, ctx.runId, {
      nextSeq: toSeq,
      processedRows: processedBefore + rows.length,
      counters: c,
      message: `window ${first.seq}..${last.seq} done`,
    });
    await recordDeadLetters(client, ctx, rejected);
    await resolveDeadLetters(client, ctx.job.id, importedIds);
    await client.query("commit");
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
  return {
    runId: ctx.runId,
    fromSeq: first.seq,
    toSeq,
    rows: rows.length,
    imported: importedIds.length,
    unchanged: w.unchanged,
    failed: rejected.length,
    deleted: vanished.length,
  };
}

/**
 * A rejected line (4xx per line) is a dead letter, not a retry: one open letter
 * per (job, doc), its attempt count growing while the doc keeps failing.
 */
async function recordDeadLetters(
  client: pg.PoolClient,
  ctx: RunContext,
  rejected: readonly Rejected[],
): Promise<void> {
  if (rejected.length === 0) return;
  // One row per doc id: ON CONFLICT cannot touch the same row twice in one statement.
  const byId = new Map(rejected.map((r) => [r.docId, r]));
  const list = [...byId.values()];
  await client.query(
    `insert into typesense_dead_letters
       (job_id, run_id, origin, doc_id, operation, payload, error_code, error_message)
     select $1, $2, 'full_sync', d.doc_id, 'upsert', d.payload::jsonb, d.code, d.error
       from unnest($3::text[], $4::text[], $5::int[], $6::text[]) as d(doc_id, payload, code, error)
     on conflict (job_id, doc_id) where status = 'open' and doc_id is not null
     do update set attempts = typesense_dead_letters.attempts + 1, last_failed_at = now(),
                   run_id = excluded.run_id, origin = excluded.origin,
                   operation = excluded.operation, payload = excluded.payload,
                   error_code = excluded.error_code, error_message = excluded.error_message`,
    [
      ctx.job.id,
      ctx.runId,
      list.map((r) => r.docId),
      list.map((r) => r.payload),
      list.map((r) => r.code),
      list.map((r) => r.error),
    ],
  );
}

/** A doc that imports now closes its open dead letter. */
async function resolveDeadLetters(
  client: pg.PoolClient,
  jobId: string,
  importedIds: readonly string[],
): Promise<void> {
  if (importedIds.length === 0) return;
  await client.query(
    `update typesense_dead_letters set status = 'resolved', resolved_at = now()
      where job_id = $1 and status = 'open' and doc_id = any($2::text[])`,
    [jobId, importedIds],
  );
}
