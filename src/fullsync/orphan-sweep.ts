import type { RunContext } from "./context.js";
import { renewLease } from "./lease.js";
import { writeCounters } from "./runs.js";
import { type Backup, saveBackups } from "./saga.js";

/** Ids checked against the source per query. */
const CHUNK = 2000;

/**
 * After a complete pass: delete docs whose row does not exist in the source
 * NOW. Checking the source at sweep time (not the manifest) is what keeps a
 * row inserted after the manifest safe: it exists now, so its doc stays. Docs
 * that are not in the manifest and not in the source are exactly covered; a
 * manifest doc whose row was deleted after its window is deleted as well,
 * which matches the source too.
 *
 * Ids are collected while the export streams (Typesense's export is not a
 * stable cursor under concurrent deletes) and deleted after it ends. Only
 * orphans are held, not the collection's ids.
 *
 * Safe ordering: [saga] pre-images of the orphans committed -> delete in
 * Typesense -> counters. Re-running a sweep after a crash is harmless: deleted
 * docs are no longer exported.
 */
export async function sweepOrphans(ctx: RunContext, backupSeq: number): Promise<number> {
  const collection = ctx.job.collectionName;
  const orphans: string[] = [];
  let chunk: string[] = [];
  const check = async () => {
    const existing = await ctx.reader.existing(chunk);
    for (const id of chunk) if (!existing.has(id)) orphans.push(id);
    chunk = [];
  };
  for await (const id of ctx.backend.exportIds(collection)) {
    chunk.push(id);
    if (chunk.length >= CHUNK) await check();
  }
  if (chunk.length > 0) await check();

  for (let i = 0; i < orphans.length; i += CHUNK) {
    const ids = orphans.slice(i, i + CHUNK);
    if (ctx.sagaEnabled) {
      const pre = await ctx.retry("export orphans", () =>
        ctx.backend.getDocuments(collection, ids),
      );
      const backups: Backup[] = [...pre.values()].map((doc) => ({
        docId: doc.id,
        preImage: doc,
        manifestSeq: backupSeq,
      }));
      // Orphans that are manifest docs below the created-range marker did not
      // exist before the run (the marker deletes them on rollback): no backup.
      await saveBackups(ctx.control, ctx.runId, backups, ctx.sagaCreatedUpto);
    }
    await ctx.retry("delete orphans", () => ctx.backend.deleteDocuments(collection, ids));
    ctx.counters.deleted += ids.length;
    await renewLease(ctx.control, ctx.lease, ctx.leaseTtlMs);
    await writeCounters(ctx.control, ctx.runId, ctx.counters);
  }
  return orphans.length;
}
