import type { RunContext } from "./context.js";
import { readManifestWindow } from "./manifest.js";
import { setStage } from "./runs.js";
import { commitWindow, type PreparedWindow, prepareWindow, type WindowSummary } from "./window.js";

export interface WindowsLoopOptions {
  /** Manifest rows (exact). */
  total: number;
  /** First seq to process (the checkpoint). */
  nextSeq: number;
  /** manifest_processed_rows at the checkpoint. */
  processed: number;
  windowSize: number;
  /** Checked before each window: abort or lost lease. */
  stopped: () => boolean;
  onWindowCommitted?: (w: WindowSummary) => void | Promise<void>;
}

/**
 * The windows stage from the checkpoint to the end of the manifest.
 *
 * Pipeline of depth 1: window N+1 is read (manifest ids, source rows,
 * pre-images) while window N is written. Only reads run ahead; backups,
 * Typesense writes and checkpoints stay strictly in seq order, so the
 * checkpoint never passes an unwritten window. A prefetched window that is not
 * written (abort, failure) has changed nothing and is dropped.
 */
export async function runWindows(
  ctx: RunContext,
  o: WindowsLoopOptions,
): Promise<"done" | "interrupted"> {
  if (o.nextSeq >= o.total) return "done";
  await setStage(ctx.control, ctx.runId, "windows", `at seq ${o.nextSeq} of ${o.total}`);
  const fetchWindow = async (from: number): Promise<PreparedWindow | null> => {
    const rows = await readManifestWindow(ctx.control, ctx.runId, from, o.windowSize);
    return rows.length === 0 ? null : prepareWindow(ctx, rows);
  };
  let processed = o.processed;
  let next: Promise<PreparedWindow | null> | null = fetchWindow(o.nextSeq);
  try {
    while (next) {
      if (o.stopped()) return "interrupted";
      const prepared: PreparedWindow | null = await next;
      next = null;
      if (!prepared) break;
      const to = prepared.rows[prepared.rows.length - 1]!.seq + 1;
      if (to < o.total) next = fetchWindow(to);
      const w = await commitWindow(ctx, prepared, processed);
      processed += w.rows;
      await o.onWindowCommitted?.(w);
    }
  } finally {
    // settle a prefetch that will not be written, so its rejection is not unhandled
    // (and forget its watermark registration, if any)
    next?.then(
      (p) => p?.bracket?.abandon(),
      () => {},
    );
  }
  return o.stopped() ? "interrupted" : "done";
}
