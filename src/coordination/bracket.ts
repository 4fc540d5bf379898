import type { Logger } from "../lifecycle/logger.js";
import type { Document } from "../typesense/types.js";
import { StreamStoppedError } from "./errors.js";
import type { WatermarkCoordinator, WatermarkWindow, WindowOutcome } from "./watermarks.js";

/*
 * The bracket of one write of a job's rows by anyone but the stream (a
 * full-sync window, a rollback batch, an orphan sweep chunk), DBLog style
 * (DESIGN section 5):
 *
 *   openBracket(ids)             (1) BEFORE the rows are read: ids registered
 *   read rows                    (2)
 *   closeBracket(docs, deletes)  (3) high watermark; the stream writes the ids
 *                                    it did not change after (1), at that point
 *                                    of the stream order
 *
 * openBracket returns null when the job does not stream on this instance: the
 * caller writes directly. Once a write is bracketed it is never written
 * directly: when the stream stops before the watermark, closeBracket registers
 * the ids again and re-reads them if a stream is back, and otherwise throws
 * StreamStoppedError (the run stops and resumes at its checkpoint).
 */

/** What a bracket needs of its caller (a full-sync AttemptEnv fits). */
export interface BracketScope {
  /** Undefined: this instance never streams (no CDC). */
  watermarks?: WatermarkCoordinator;
  /** `collectionName`: the collection this writer writes (the stream writes the bracket there only). */
  job: { readonly id: string; readonly collectionName?: string };
  /** Aborted: a bracket waiting for its watermark gives up (no StreamStoppedError). */
  signal?: AbortSignal;
  log: Logger;
}

/** Reads the rows of `ids` again, after they were registered again. */
export type Reread = (
  ids: string[],
) => Promise<{ documents: Map<string, Document>; missing: readonly string[] }>;

/** A closed bracket: what the stream did, and the deletes that were asked of it in the end. */
export interface ClosedBracket {
  outcome: WindowOutcome;
  deletes: ReadonlySet<string>;
}

/** Closes after the stream stopped under a window (re-registration + re-read) at most this often. */
const MAX_REOPEN = 3;

/** (1): registers `ids` when the job streams here, else null (write directly). */
export function openBracket(scope: BracketScope, ids: readonly string[]): WatermarkWindow | null {
  const wm = scope.watermarks;
  if (!wm?.isStreaming(scope.job.id)) return null;
  return wm.openWindow(scope.job.id, ids, scope.job.collectionName);
}

/**
 * (3): hands `docs` and `deletes` to the stream and waits until it wrote them
 * at the watermark. The caller records rejections itself (recordRejections:
 * false). When the stream stops first: with `reread`, the ids are registered
 * again and read again (a vanished delete stays a delete only while its row is
 * still missing) up to MAX_REOPEN times, the last failure is rethrown;
 * without `reread`, or when no stream applies the job here any more,
 * StreamStoppedError. An abort of `scope.signal` rethrows as is.
 */
export async function closeBracket(
  scope: BracketScope,
  bracket: WatermarkWindow,
  write: { docs: ReadonlyMap<string, Document>; deletes: readonly string[] },
  reread?: Reread,
): Promise<ClosedBracket> {
  let w = bracket;
  let { docs, deletes } = write;
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await w.close(docs, {
        deletes,
        recordRejections: false,
        signal: scope.signal,
      });
      return { outcome, deletes: new Set(deletes) };
    } catch (e) {
      if (scope.signal?.aborted) throw e;
      if (!reread) throw new StreamStoppedError(scope.job.id, e);
      scope.log.warn(
        { err: { message: (e as Error).message } },
        "the CDC stream stopped before the window's watermark",
      );
      if (attempt >= MAX_REOPEN) throw e;
      // A stream is back: register again and re-read (the ids must be
      // registered BEFORE the read). No stream: the run stops here (see
      // StreamStoppedError), it never writes the window directly.
      const ids = [...docs.keys(), ...deletes];
      const again = openBracket(scope, ids);
      if (!again) throw new StreamStoppedError(scope.job.id, e);
      w = again;
      try {
        const read = await reread(ids);
        const wasDelete = new Set(deletes);
        docs = read.documents;
        deletes = read.missing.filter((id) => wasDelete.has(id) || read.documents.has(id));
      } catch (err) {
        w.abandon();
        throw err;
      }
    }
  }
}
