import type pg from "pg";
import { type Logger, linkedAbort } from "../../lifecycle/index.js";
import { type ManifestIdSource, manifestRowCount, recordEstimate } from "./manifest.js";
import { buildChunks, type ManifestBuildOptions } from "./manifest-build.js";
import type { RunStage } from "./runs.js";

/*
 * A run's manifest as the windows see it: complete, or being built in
 * committed chunks (manifest-build.ts) that the windows wait for.
 */

export interface ManifestProgress {
  /** Committed rows: seqs below it can be read. */
  readonly built: number;
  /** The exact total once the manifest is complete, else null. */
  readonly total: number | null;
  /** Resolves once seqs below `seq` are committed or the manifest is complete; rejects if the build failed. */
  waitFor(seq: number): Promise<void>;
  /** The build itself: the exact total. */
  readonly done: Promise<number>;
}

/** A manifest that is already complete (a resumed run whose manifest was built). */
export function completeManifest(total: number): ManifestProgress {
  return { built: total, total, waitFor: async () => {}, done: Promise.resolve(total) };
}

export function startManifestBuild(o: ManifestBuildOptions): ManifestProgress {
  let built = o.builtRows ?? 0;
  let total: number | null = null;
  let failed: { error: unknown } | null = null;
  let waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const notify = () => {
    waiters = waiters.filter((w) => {
      if (failed) w.reject(failed.error);
      else if (total !== null || built >= w.seq) w.resolve();
      else return true;
      return false;
    });
  };
  const done = buildChunks(o, (n) => {
    built = n;
    notify();
  }).then(
    (n) => {
      built = n;
      total = n;
      notify();
      return n;
    },
    (e: unknown) => {
      failed = { error: e };
      notify();
      throw e;
    },
  );
  done.catch(() => {}); // observed by the engine (and by waitFor callers)
  return {
    get built() {
      return built;
    },
    get total() {
      return total;
    },
    waitFor(seq) {
      if (failed) return Promise.reject(failed.error);
      if (total !== null || built >= seq) return Promise.resolve();
      return new Promise((resolve, reject) => waiters.push({ seq, resolve, reject }));
    },
    done,
  };
}

/** Builds (or, with builtRows, finishes) the manifest in one call; returns the exact total. */
export function buildManifest(o: ManifestBuildOptions): Promise<number> {
  return startManifestBuild(o).done;
}

/** The manifest of one attempt, and how to end its build with the attempt. */
export interface RunManifest {
  manifest: ManifestProgress;
  /** A fresh build: the run starts at seq 0 (its checkpoint is reset). */
  fresh: boolean;
  /** Stops a build still running and waits for it: nothing of it outlives the attempt. */
  close(): Promise<void>;
}

/**
 * The attempt's manifest: complete already, or its build started (fresh, or
 * continued after the last committed chunk of an earlier attempt). The build
 * stops with the attempt: on `lost` or `signal`, or at close().
 */
export async function openRunManifest(o: {
  control: pg.Pool;
  source: pg.Pool;
  run: { id: string; manifestComplete: boolean; manifestTotalRows: number | null };
  /** The job's table and id column (the run's DocumentMapper fits). */
  mapper: ManifestIdSource;
  estimatedRows: number;
  lost: AbortSignal;
  signal?: AbortSignal;
  chunks?: Pick<ManifestBuildOptions, "firstChunkRows" | "chunkRows" | "onChunk">;
  log: Logger;
  /** A fresh build only: the stage it enters (the caller's run-stage machine), written by recordEstimate. */
  enterStage: () => RunStage;
}): Promise<RunManifest> {
  if (o.run.manifestComplete) {
    return {
      manifest: completeManifest(o.run.manifestTotalRows ?? 0),
      fresh: false,
      close: async () => {},
    };
  }
  const builtRows = await manifestRowCount(o.control, o.run.id);
  if (builtRows === 0) await recordEstimate(o.control, o.run.id, o.estimatedRows, o.enterStage());
  const build = linkedAbort(o.lost, o.signal);
  const manifest = startManifestBuild({
    control: o.control,
    source: o.source,
    runId: o.run.id,
    mapper: o.mapper,
    builtRows,
    signal: build.ctl.signal,
    ...o.chunks,
  });
  manifest.done.then(
    (total) => o.log.info({ total }, "manifest built"),
    () => {},
  );
  return {
    manifest,
    fresh: builtRows === 0,
    close: async () => {
      build.unlink();
      if (manifest.total === null) {
        build.ctl.abort();
        await manifest.done.catch(() => {});
      }
    },
  };
}
