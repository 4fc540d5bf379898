import type { RunContext } from "./context.js";
import { createManifestCursor } from "./manifest.js";
import { setStage } from "./runs.js";
import {
  checkpointWindow,
  type PreparedWindow,
  prepareWindow,
  saveWindowBackups,
  type WindowSummary,
  type WrittenWindow,
  writeWindow,
} from "./window.js";

export interface WindowsLoopOptions {
  /** Manifest rows (exact). */
  total: number;
  /** First seq to process (the checkpoint). */
  nextSeq: number;
  /** manifest_processed_rows at the checkpoint. */
  processed: number;
  windowSize: number;
  /**
   * Windows whose Typesense writes may be in flight at once (>= 1). Windows
   * bracketed by CDC watermarks are always written one at a time.
   */
  maxWindowsInFlight: number;
  /** Checked before each window: abort or lost lease. */
  stopped: () => boolean;
  onWindowCommitted?: (w: WindowSummary) => void | Promise<void>;
}

interface InFlight {
  prepared: PreparedWindow;
  /** Settles when Typesense confirmed (or failed) the window's writes. */
  write: Promise<WrittenWindow>;
}

/**
 * The windows stage from the checkpoint to the end of the manifest.
 *
 * Pipeline: window N+k is read (manifest ids, source rows, pre-images) while
 * up to `maxWindowsInFlight` earlier windows are being written. Per window, in
 * seq order: [saga] backups durable -> write started; the checkpoints follow
 * strictly in seq order, each after its own window's write was confirmed and
 * after the previous window's checkpoint. So the checkpoint never passes an
 * unwritten window, and counters / dead letters are applied in order.
 *
 * On a failure no further write starts, the writes in flight are settled
 * (never checkpointed past the failure) and the error propagates: a rollback
 * starts only once nothing is being written. On stop (abort, lost lease) the
 * windows in flight are finished and checkpointed in order. A read-ahead
 * window that is not written (abort, failure) has changed nothing and is
 * dropped. Memory: at most maxWindowsInFlight + 1 windows.
 */
export async function runWindows(
  ctx: RunContext,
  o: WindowsLoopOptions,
): Promise<"done" | "interrupted"> {
  if (o.nextSeq >= o.total) return "done";
  await setStage(ctx.control, ctx.runId, "windows", `at seq ${o.nextSeq} of ${o.total}`);
  const max = Math.max(1, Math.floor(o.maxWindowsInFlight));
  // manifest ids of 4 windows per control-DB read (fewer small round trips)
  const manifestWindow = createManifestCursor(ctx.control, ctx.runId, o.windowSize, 4);
  const fetchWindow = async (from: number): Promise<PreparedWindow | null> => {
    const rows = await manifestWindow(from);
    return rows.length === 0 ? null : prepareWindow(ctx, rows);
  };
  let processed = o.processed;
  let next: Promise<PreparedWindow | null> | null = fetchWindow(o.nextSeq);
  const inFlight: InFlight[] = [];
  // a watermarked window is written alone (the stream writes it at its watermark)
  const limit = () => (inFlight.some((x) => x.prepared.bracket) ? 1 : max);
  const checkpointOldest = async () => {
    const head = inFlight[0]!;
    const written = await head.write;
    const w = await checkpointWindow(ctx, head.prepared, written, processed);
    inFlight.shift();
    processed += w.rows;
    await o.onWindowCommitted?.(w);
  };
  try {
    while (next) {
      while (inFlight.length >= limit()) await checkpointOldest();
      if (o.stopped()) break;
      const prepared: PreparedWindow | null = await next;
      next = null;
      if (!prepared) break;
      if (prepared.bracket) {
        while (inFlight.length > 0) await checkpointOldest();
      }
      const to = prepared.rows[prepared.rows.length - 1]!.seq + 1;
      if (to < o.total) next = fetchWindow(to);
      let write: Promise<WrittenWindow>;
      try {
        await saveWindowBackups(ctx, prepared);
        write = writeWindow(ctx, prepared).finally(() => {
          // no-op once the stream wrote the window; forgets it after a failure
          prepared.bracket?.abandon();
        });
      } catch (e) {
        prepared.bracket?.abandon();
        throw e;
      }
      write.catch(() => {}); // observed by checkpointOldest or the settle below
      inFlight.push({ prepared, write });
    }
    // stopped or at the end: finish the windows in flight, checkpoints in order
    while (inFlight.length > 0) await checkpointOldest();
  } finally {
    // no rollback (or return) while a write is still in flight
    await Promise.allSettled(inFlight.map((x) => x.write));
    // settle a prefetch that will not be written, so its rejection is not unhandled
    // (and forget its watermark registration, if any)
    next?.then(
      (p) => p?.bracket?.abandon(),
      () => {},
    );
  }
  return o.stopped() ? "interrupted" : "done";
}
