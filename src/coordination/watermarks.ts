import { randomUUID } from "node:crypto";
import type { Document } from "../typesense/types.js";

/** pg_logical_emit_message prefix of high watermarks. */
export const WATERMARK_PREFIX = "athena_ts_watermark";
/** pg_logical_emit_message prefix of idle heartbeats. */
export const HEARTBEAT_PREFIX = "athena_ts_heartbeat";

/** What became of a window's rows once the stream reached its high watermark. */
export interface WindowOutcome {
  /** Ids whose row read by full sync was written by the stream at the watermark. */
  written: string[];
  /** Ids the stream changed after the window was registered: it carries their newer version. */
  superseded: string[];
  /** Ids Typesense rejected (recorded as dead letters unless `recordRejections: false`). */
  rejected: string[];
  /** The rejections in detail (the full-sync engine records them with its run). */
  rejections: WindowRejection[];
}

/** A document of a window that Typesense rejected at the watermark. */
export interface WindowRejection {
  docId: string;
  code: number | null;
  error: string;
  payload: Document | null;
}

/** Options of `WatermarkWindow.close`. */
export interface CloseWindowOptions {
  signal?: AbortSignal;
  /**
   * Ids read as "no row" whose doc the stream should delete at the watermark
   * (unless it changed them after the window opened). Default: none.
   */
  deletes?: readonly string[];
  /**
   * false: the applier does not record the window's rejections as CDC dead
   * letters; the caller records `rejections` itself (the full-sync engine,
   * with its run). Default true.
   */
  recordRejections?: boolean;
}

/** Ids the stream changed in one job since `watchChanges` was called. */
export interface ChangeWatch {
  /** Whether the stream delivered a change of `docId` (or a truncate) since the watch began. */
  has(docId: string): boolean;
  stop(): void;
}

/**
 * DBLog coordination between a full-sync window and the CDC stream of the
 * same job (DESIGN section 5). Use, for each window while the job streams:
 *
 *   const w = coordinator.openWindow(jobId, ids)  // (1) low watermark, in memory
 *   const rows = await reader.read(ids)           // (2) read the rows
 *   const outcome = await w.close(rows.documents) // (3) high watermark; resolves
 *                                                 //     when the stream wrote them
 *
 * Any change the stream delivers for one of `ids` after (1) drops that id
 * from the window: the stream carries that version or a newer one. When the
 * stream reaches the watermark (a pg_logical_emit_message emitted by close),
 * it writes the surviving rows at that point of the stream order. So a full
 * sync never writes an older version over a newer one.
 *
 * When `isStreaming(jobId)` is false (no stream, or this instance is not the
 * leader), the engine writes its window directly as usual.
 */
export interface WatermarkCoordinator {
  isStreaming(jobId: string): boolean;
  /**
   * `collection`: the collection the caller writes (a full sync's, by name);
   * the stream writes the window there only (DueWindow.collection).
   */
  openWindow(jobId: string, ids: readonly string[], collection?: string): WatermarkWindow;
  /**
   * Starts recording the ids the stream changes in `jobId` (saga rollback
   * skips them: CDC wrote a newer version since the run began). In memory.
   */
  watchChanges(jobId: string): ChangeWatch;
}

export interface WatermarkWindow {
  readonly id: string;
  /**
   * Hands over the documents read in step (2) (ids absent from `docs` had no
   * row) and emits the high watermark. Rejects when the stream stops before
   * reaching it, or on `signal`.
   */
  close(docs: ReadonlyMap<string, Document>, opts?: CloseWindowOptions): Promise<WindowOutcome>;
  /** Forgets the window (the engine gave up on it). */
  abandon(): void;
}

/** The stream side: what a running stream registers with the coordinator. */
export interface WatermarkStreamHandle {
  /** Emits a non-transactional logical message on the stream's source database. */
  emit(prefix: string, content: string): Promise<void>;
  jobIds: ReadonlySet<string>;
}

interface OpenWindow {
  id: string;
  jobId: string;
  collection?: string;
  pending: Set<string>;
  superseded: Set<string>;
  docs: ReadonlyMap<string, Document> | null;
  deletes: ReadonlySet<string>;
  recordRejections: boolean;
  resolve: (o: WindowOutcome) => void;
  reject: (e: Error) => void;
  settled: Promise<WindowOutcome>;
}

/** The surviving rows of a window, handed to the applier at its watermark. */
export interface DueWindow {
  jobId: string;
  /**
   * The collection the window's writer means (a full sync names the version it
   * builds); undefined: the stream's own write (a spec fan-out page), which goes
   * wherever the stream writes the job's changes (both versions during a rebuild).
   */
  collection?: string;
  docs: Document[];
  /** Surviving ids to delete (read as "no row"). */
  deletes: string[];
  /** Whether the applier records the rejections as dead letters (else the window's owner does). */
  recordRejections: boolean;
  superseded: string[];
  finish(outcome: { written: string[]; rejections: WindowRejection[] }): void;
  fail(e: Error): void;
}

/** Coordinator plus the hooks the stream and its applier call. */
export interface WatermarkRegistry extends WatermarkCoordinator {
  /** A stream starts applying these jobs; returns the function that unregisters it. */
  attach(stream: WatermarkStreamHandle): () => void;
  /** The stream saw a change of `docId` in job `jobId`. */
  observe(jobId: string, docId: string): void;
  /** The stream saw a TRUNCATE of the job's table: every open window of it is superseded. */
  observeTruncate(jobId: string): void;
  /** The stream reached a watermark message: the window's survivors, if it is ours. */
  /** Whether `content` is the high watermark of an open window of this registry (no side effect). */
  isDue(content: string): boolean;
  due(content: string): DueWindow | null;
}

export function createWatermarkRegistry(): WatermarkRegistry {
  const streams = new Set<WatermarkStreamHandle>();
  const windows = new Map<string, OpenWindow>();
  const byJob = new Map<string, Set<OpenWindow>>();
  const watches = new Map<string, Set<{ ids: Set<string>; truncated: boolean }>>();

  const streamOf = (jobId: string) => [...streams].find((s) => s.jobIds.has(jobId));
  const forget = (w: OpenWindow) => {
    windows.delete(w.id);
    byJob.get(w.jobId)?.delete(w);
  };

  return {
    isStreaming: (jobId) => streamOf(jobId) !== undefined,

    openWindow(jobId, ids, collection) {
      let resolve: (o: WindowOutcome) => void = () => {};
      let reject: (e: Error) => void = () => {};
      const settled = new Promise<WindowOutcome>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      settled.catch(() => {});
      const w: OpenWindow = {
        id: randomUUID(),
        jobId,
        ...(collection !== undefined ? { collection } : {}),
        pending: new Set(ids),
        superseded: new Set(),
        docs: null,
        deletes: new Set(),
        recordRejections: true,
        resolve,
        reject,
        settled,
      };
      windows.set(w.id, w);
      const set = byJob.get(jobId) ?? new Set<OpenWindow>();
      byJob.set(jobId, set);
      set.add(w);
      return {
        id: w.id,
        async close(docs, opts) {
          const stream = streamOf(jobId);
          if (!stream) {
            forget(w);
            throw new Error(`job ${jobId} is not streaming; write the window directly`);
          }
          w.docs = docs;
          w.deletes = new Set(opts?.deletes ?? []);
          w.recordRejections = opts?.recordRejections ?? true;
          const onAbort = () => {
            forget(w);
            w.reject(new Error("window abandoned: aborted"));
          };
          // aborted before close: a listener added now would never fire, and the
          // window would wait for the stream (which may be backing off)
          if (opts?.signal?.aborted) {
            forget(w);
            throw new Error("window abandoned: aborted");
          }
          opts?.signal?.addEventListener("abort", onAbort, { once: true });
          try {
            await stream.emit(WATERMARK_PREFIX, w.id);
            return await w.settled;
          } catch (e) {
            forget(w);
            throw e;
          } finally {
            opts?.signal?.removeEventListener("abort", onAbort);
          }
        },
        abandon() {
          forget(w);
          w.reject(new Error("window abandoned"));
        },
      };
    },

    watchChanges(jobId) {
      const watch = { ids: new Set<string>(), truncated: false };
      const set = watches.get(jobId) ?? new Set();
      watches.set(jobId, set);
      set.add(watch);
      return {
        has: (docId) => watch.truncated || watch.ids.has(docId),
        stop() {
          set.delete(watch);
          if (set.size === 0) watches.delete(jobId);
        },
      };
    },

    attach(stream) {
      streams.add(stream);
      return () => {
        streams.delete(stream);
        // windows of jobs no stream applies any more can never complete
        for (const w of [...windows.values()]) {
          if (stream.jobIds.has(w.jobId) && !streamOf(w.jobId)) {
            forget(w);
            w.reject(new Error(`the CDC stream of job ${w.jobId} stopped before the watermark`));
          }
        }
      };
    },

    observe(jobId, docId) {
      // (called for every change the stream applies: no allocation when nothing watches)
      const ws = watches.get(jobId);
      if (ws) for (const watch of ws) watch.ids.add(docId);
      const set = byJob.get(jobId);
      if (!set || set.size === 0) return;
      for (const w of set) {
        if (w.pending.delete(docId)) w.superseded.add(docId);
      }
    },

    observeTruncate(jobId) {
      for (const watch of watches.get(jobId) ?? []) watch.truncated = true;
      for (const w of byJob.get(jobId) ?? []) {
        for (const id of w.pending) w.superseded.add(id);
        w.pending.clear();
      }
    },

    isDue(content) {
      return windows.get(content)?.docs != null;
    },

    due(content) {
      const w = windows.get(content);
      const read = w?.docs;
      // a watermark of another instance, or of a window already abandoned
      if (!w || !read) return null;
      forget(w);
      const docs: Document[] = [];
      const deletes: string[] = [];
      for (const id of w.pending) {
        const d = read.get(id);
        if (d) docs.push(d);
        else if (w.deletes.has(id)) deletes.push(id);
      }
      return {
        jobId: w.jobId,
        ...(w.collection !== undefined ? { collection: w.collection } : {}),
        docs,
        deletes,
        recordRejections: w.recordRejections,
        superseded: [...w.superseded],
        finish: (o) =>
          w.resolve({
            written: o.written,
            rejected: o.rejections.map((r) => r.docId),
            rejections: o.rejections,
            superseded: [...w.superseded],
          }),
        fail: (e) => w.reject(e),
      };
    },
  };
}
