import { StreamAttachedError } from "../coordination/errors.js";
import { createManifestCursor } from "../db/repositories/manifest.js";
import type { ManifestProgress } from "../db/repositories/manifest-progress.js";
import { enterStage } from "./attempt-env.js";
import type { AttemptState, CollectionEnv } from "./context.js";
import {
  checkpointWindow,
  type PreparedWindow,
  prepareWindow,
  saveWindowBackups,
  type WrittenWindow,
  writeWindow,
} from "./window.js";

export interface WindowsLoopOptions {
  /** The run's manifest, complete or still being built (windows wait for its chunks). */
  manifest: ManifestProgress;
  /** First seq to process (the checkpoint). */
  nextSeq: number;
  /** manifest_processed_rows at the checkpoint. */
  processed: number;
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
 * dropped. Memory: at most maxWindowsInFlight + readAhead windows.
 */
export async function runWindows(
  ctx: CollectionEnv,
  state: AttemptState,
  o: WindowsLoopOptions,
): Promise<"done" | "interrupted"> {
  const { manifest } = o;
  if (o.nextSeq >= (manifest.total ?? Number.POSITIVE_INFINITY)) return "done";
  await enterStage(
    ctx,
    state,
    "windows",
    `at seq ${o.nextSeq} of ${manifest.total ?? "a manifest still being built"}`,
  );
  const { ahead, inFlight, fill, attachedSince, limit, checkpointOldest } = windowPipeline(
    ctx,
    state,
    o,
  );
  try {
    fill();
    while (ahead.length > 0) {
      while (inFlight.length >= limit()) await checkpointOldest();
      if (ctx.stopped()) break;
      const prepared: PreparedWindow | null = await ahead.shift()!;
      if (!prepared) break;
      // checked again right before the write: the read may have taken a while
      if (ctx.stopped()) {
        prepared.bracket?.abandon();
        break;
      }
      // read unbracketed, but the job streams here now: never write it directly
      if (attachedSince(prepared)) throw new StreamAttachedError(ctx.job.id);
      if (prepared.bracket) {
        while (inFlight.length > 0) await checkpointOldest();
      }
      fill();
      let write: Promise<WrittenWindow>;
      try {
        await saveWindowBackups(ctx, state, prepared);
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
    // settle read-ahead windows that will not be written, so their rejections
    // are not unhandled (and forget their watermark registrations, if any)
    for (const p of ahead) {
      p.then(
        (w) => w?.bracket?.abandon(),
        () => {},
      );
    }
  }
  return ctx.stopped() ? "interrupted" : "done";
}

/**
 * The two queues of the windows stage and the checkpoint order: windows read
 * ahead (`ahead`, filled by `fill` up to the read-ahead depth) and windows
 * being written (`inFlight`, in seq order). `checkpointOldest` waits for the
 * oldest write and checkpoints it; runWindows decides when a write starts.
 */
function windowPipeline(ctx: CollectionEnv, state: AttemptState, o: WindowsLoopOptions) {
  const { manifest } = o;
  const { windowSize } = ctx.windows;
  // the exact total once the manifest is complete; until then windows go on
  // until a window comes back empty from the completed manifest
  const total = () => manifest.total ?? Number.POSITIVE_INFINITY;
  const max = Math.max(1, Math.floor(ctx.windows.maxWindowsInFlight));
  // manifest ids of 4 windows per control-DB read (fewer small round trips)
  const manifestWindow = createManifestCursor(ctx.control, ctx.runId, windowSize, 4, manifest);
  const fetchWindow = async (from: number): Promise<PreparedWindow | null> => {
    const rows = await manifestWindow(from);
    return rows.length === 0 ? null : prepareWindow(ctx, rows);
  };
  let processed = o.processed;
  const depth = ctx.watermarks ? 1 : Math.max(1, Math.floor(ctx.windows.readAhead));
  // Window starts are known in advance: the manifest's seqs are dense, so the
  // window after [from, from + size) starts at from + size (the cursor checks).
  let nextFrom = o.nextSeq;
  const ahead: Promise<PreparedWindow | null>[] = [];
  const fill = () => {
    while (ahead.length < depth && nextFrom < total()) {
      const p = fetchWindow(nextFrom);
      p.catch(() => {}); // observed when its turn comes, or settled below
      ahead.push(p);
      nextFrom += windowSize;
    }
  };
  const inFlight: InFlight[] = [];
  // a watermarked window is written alone (the stream writes it at its watermark)
  const limit = () => (inFlight.some((x) => x.prepared.bracket) ? 1 : max);
  // read (or written) without watermarks, but the job's stream attached here since
  const attachedSince = (w: PreparedWindow) =>
    !w.bracket && ctx.watermarks?.isStreaming(ctx.job.id) === true;
  const checkpointOldest = async () => {
    const head = inFlight[0]!;
    const written = await head.write;
    // Written without watermarks while the job's stream attached here: the
    // write may have landed after a newer version the stream wrote. The window
    // is not checkpointed; the run resumes at it, bracketed (rows read again
    // and written at a watermark), which repairs such a doc.
    if (attachedSince(head.prepared)) throw new StreamAttachedError(ctx.job.id);
    const w = await checkpointWindow(ctx, state, head.prepared, written, processed);
    inFlight.shift();
    processed += w.rows;
    await ctx.hooks.onWindowCommitted?.(w);
  };
  return { ahead, inFlight, fill, attachedSince, limit, checkpointOldest };
}
