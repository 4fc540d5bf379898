import type pg from "pg";
import type { WatermarkCoordinator } from "../coordination/watermarks.js";
import {
  advanceFanout,
  finishFanout,
  nextFanouts,
  type QueuedFanout,
} from "../db/repositories/cdc-fanouts.js";
import { parseJson } from "../json/codec.js";
import type { Logger } from "../lifecycle/logger.js";
import type { Document } from "../typesense/types.js";
import { routeByPath, type SpecTarget } from "./spec-target.js";
import { RENDER_CHUNK } from "./writer.js";

/*
 * The stream's fan-out worker (issue 15 point 2): renders the roots a queued
 * fan-out names (sql/012), page by page, while the stream goes on with every
 * other change. Each page is one DBLog window, like a full-sync window:
 *
 *   queued (checkpoint, with the LSN of its change)
 *     └─> page: roots after after_root_id (id order, RENDER_CHUNK)
 *           (1) openWindow(ids)        BEFORE the read: ids registered
 *           (2) render(ids)            the spec's one statement, now
 *           (3) close(docs, deletes)   the stream writes them at the high
 *                                      watermark, minus ids it changed
 *                                      after (1): never older than CDC
 *         advance after_root_id  ──> next page ... last page: finished (row deleted)
 *
 * Memory is one page. A crash loses nothing: the row stays queued and the
 * next session resumes at after_root_id; a page written again is the same
 * write (idempotent). Runs off the stream's lock (the window waits for the
 * stream to reach its watermark), one fan-out at a time.
 */

export interface FanoutWorkerContext {
  control: pg.Pool;
  watermarks: WatermarkCoordinator;
  /** The session's spec jobs by id. */
  specs: ReadonlyMap<string, SpecTarget>;
  log: Logger;
  signal: AbortSignal;
  /** Roots per page (default RENDER_CHUNK). */
  pageSize?: number;
}

/** Works the queue of the session's spec jobs until it is empty (or the session stops). */
export async function runFanouts(ctx: FanoutWorkerContext): Promise<void> {
  if (ctx.specs.size === 0) return;
  for (;;) {
    ctx.signal.throwIfAborted();
    const [f] = await nextFanouts(ctx.control, [...ctx.specs.keys()], 1);
    if (!f) return;
    await runFanout(ctx, ctx.specs.get(f.jobId)!, f);
  }
}

async function runFanout(ctx: FanoutWorkerContext, spec: SpecTarget, f: QueuedFanout) {
  const route = routeByPath(spec, f.routePath);
  if (!route) {
    // the spec changed since: that change queued a full run of the job
    ctx.log.info(
      { jobId: f.jobId, route: f.routePath },
      "fan-out of a relation the spec no longer has: dropped",
    );
    await finishFanout(ctx.control, f.id);
    return;
  }
  const size = ctx.pageSize ?? RENDER_CHUNK;
  let after = f.afterRootId;
  for (;;) {
    ctx.signal.throwIfAborted();
    const page = await spec.roots(route, f.keys, after, size);
    if (page.length > 0) await writePage(ctx, f.jobId, spec, page);
    if (page.length < size) {
      await finishFanout(ctx.control, f.id);
      return;
    }
    after = page.at(-1)!;
    await advanceFanout(ctx.control, f.id, after);
  }
}

/** One page through a watermark window: registered, rendered, written by the stream. */
async function writePage(
  ctx: FanoutWorkerContext,
  jobId: string,
  spec: SpecTarget,
  ids: readonly string[],
): Promise<void> {
  // not streamed here any more (the session is ending): the row stays queued
  if (!ctx.watermarks.isStreaming(jobId)) throw new Error(`job ${jobId} is not streamed here`);
  const w = ctx.watermarks.openWindow(jobId, ids); // (1)
  try {
    const lines = await spec.render(ids); // (2)
    const docs = new Map<string, Document>();
    for (const [id, line] of lines) docs.set(id, parseJson(line) as Document);
    const deletes = ids.filter((id) => !lines.has(id));
    await w.close(docs, { deletes, signal: ctx.signal }); // (3)
  } catch (e) {
    w.abandon();
    throw e;
  }
}
