import { closeBracket, openBracket } from "../coordination/bracket.js";
import { StreamStoppedError } from "../coordination/errors.js";
import { LeaseLostError } from "../db/repositories/lease.js";
import { readManifestWindow } from "../db/repositories/manifest.js";
import {
  loadRebuild,
  markBuilding,
  type RebuildRow,
  recordSwap,
} from "../db/repositories/rebuilds.js";
import { finishRebuildRun, type RunCounters, setRebuildStage } from "../db/repositories/runs.js";
import { ownerMark, ownershipOf, type TypesenseBackend } from "../typesense/index.js";
import { type AttemptStart, describeOnce } from "./attempt-env.js";
import type { CloseRun, SyncBackend } from "./context.js";
import type { FullSyncEngineOptions, RunResult } from "./engine-types.js";
import {
  nextRebuildStage,
  type RebuildStage,
  resumeRebuildStage,
  versionCollectionName,
  versionMetadata,
} from "./rebuild-stage.js";
import { idsWithoutRow } from "./rows-gone.js";

/*
 * A run with trigger `rebuild` (docs/full-sync.md "Rebuilds"), walking
 * rebuild-stage.ts:
 *
 *   create   building_version = N+1 committed (markBuilding) before anything
 *            exists in Typesense
 *   build    the ordinary attempt (engine.ts) with the job's collection set to
 *            `<alias>__v<N+1>`: prepareCollection creates it with the job's
 *            mark, manifest/windows/checkpoints/resume as any run; its finish
 *            is replaced (closeRun) so the run stays open for verify
 *   verify   num_documents of v(N+1) = the manifest's count
 *   swap     one alias upsert (after deleting the plain collection of a
 *            wave-1 job), then recordSwap's transaction
 *   keep     the run closes `succeeded`; the drop after keep_until is left
 *            to the sweeper (not built yet)
 *   discard  a failure before the swap deletes v(N+1) (only if it carries
 *            the job's mark) and closes the run `failed` with the reason
 *
 * Point of no return: once the alias names v(N+1), or a wave-1 job's plain
 * collection is gone, nothing discards v(N+1): an error then leaves the run
 * open (interrupted) and its resume finishes the swap.
 */

type Attempt = (opts: FullSyncEngineOptions, a: AttemptStart) => Promise<RunResult>;

/**
 * The alias calls of the Typesense client. Optional on SyncBackend's side
 * (test doubles of the engine have none): without them a rebuild fails at its
 * swap and discards v(N+1), never touching the alias.
 */
type AliasCalls = Pick<TypesenseBackend, "upsertAlias" | "getAlias">;

/** A failure that ends the rebuild before its swap (discard). */
class RebuildFailure extends Error {
  override readonly name = "RebuildFailure";
}

interface Rebuild {
  readonly opts: FullSyncEngineOptions;
  readonly a: AttemptStart;
  readonly rb: RebuildRow;
  readonly backend: SyncBackend;
  /** `<alias>__v<N+1>`, the version this run builds. */
  readonly physical: string;
  stage: RebuildStage;
  counters: RunCounters;
  sourceRows: number | null;
}

export async function runRebuild(
  opts: FullSyncEngineOptions,
  a: AttemptStart,
  attempt: Attempt,
): Promise<RunResult> {
  const rb = await loadRebuild(opts.control, a.run.id);
  if (!rb) throw new Error(`run ${a.run.id} is not a rebuild run`);
  const r: Rebuild = {
    opts,
    a,
    rb,
    backend: await opts.backendFor(a.job.profileId),
    physical: versionCollectionName(a.job.collectionName, rb.toVersion),
    stage: rb.stage as RebuildStage,
    counters: { ...a.run.counters },
    sourceRows: a.run.manifestTotalRows,
  };
  try {
    if (r.stage === "discard") return await discard(r, a.run.errorMessage ?? "rebuild failed");
    return await steps(r, attempt);
  } catch (e) {
    if (e instanceof LeaseLostError || a.lost.aborted) return result(r, "interrupted", null);
    const reason = e instanceof Error ? e.message : String(e);
    if (await pastPointOfNoReturn(r)) {
      a.log.warn({ err: e }, "rebuild swap interrupted after the point of no return; it resumes");
      return result(r, "interrupted", null);
    }
    return await discard(r, reason);
  }
}

async function steps(r: Rebuild, attempt: Attempt): Promise<RunResult> {
  if (r.stage === "create") await create(r);
  if (r.stage === "build") {
    const interrupted = await build(r, attempt);
    if (interrupted) return interrupted;
  }
  if (r.stage === "verify") await verify(r);
  if (r.stage === "swap") {
    await r.opts.rebuildPause?.("before-swap", r.a.job.id);
    await swap(r);
  }
  // keep: the run ends here, the previous version stays until keep_until
  return close(r, "succeeded", null);
}

async function create(r: Rebuild): Promise<void> {
  const { a } = r;
  // committed before the collection exists: a crash after its create finds it
  const marked = await markBuilding(r.opts.control, {
    jobId: a.job.id,
    leaseToken: a.lease.token,
    runId: a.run.id,
    version: r.rb.toVersion,
  });
  if (!marked) throw new LeaseLostError(a.job.id);
  r.stage = nextRebuildStage(r.stage, "created");
  a.log.info({ collection: r.physical }, "rebuild: building the new version");
}

/** The full sync into v(N+1); a RunResult when interrupted (the run stays open), else null. */
async function build(r: Rebuild, attempt: Attempt): Promise<RunResult | null> {
  const out: { status: "succeeded" | "failed"; error: string | null } = {
    status: "failed",
    error: "the build ended without finishing",
  };
  const closeRun: CloseRun = async (status, error, state) => {
    Object.assign(out, { status, error });
    r.counters = { ...state.counters };
    r.sourceRows = state.sourceRows;
    return true;
  };
  if (!(await cdcKnowsBuilding(r))) return result(r, "interrupted", null);
  // the version is written by its own name, never through the alias; a
  // collection of that name without the job's mark fails the build (no adopt)
  // liveVersion null: prepareCollection treats the version as a plain name (no alias step)
  const job = {
    ...r.a.job,
    collectionName: r.physical,
    adoptExistingCollection: false,
    liveVersion: null,
  };
  const res = await attempt(pausingBuild(r.opts, r.a.job.id, r.physical), {
    ...r.a,
    job,
    closeRun,
  });
  if (res.status === "interrupted") return result(r, "interrupted", null);
  if (out.status === "failed") throw new RebuildFailure(`build of ${r.physical}: ${out.error}`);
  await markVersion(r);
  r.stage = nextRebuildStage(r.stage, "built");
  await setRebuildStage(r.opts.control, r.a.run.id, r.stage);
  return null;
}

/**
 * The build's options with the test pause points of the build (after-create:
 * right after the ensure that created v(N+1); mid-build: after the first
 * window's checkpoint). Without a pause hook, the options as they are.
 */
function pausingBuild(
  opts: FullSyncEngineOptions,
  jobId: string,
  physical: string,
): FullSyncEngineOptions {
  const pause = opts.rebuildPause;
  if (!pause) return opts;
  let windows = 0;
  return {
    ...opts,
    backendFor: async (profileId) => {
      const b = await opts.backendFor(profileId);
      const ensure: SyncBackend["ensureCollection"] = async (schema, o) => {
        const ensured = await b.ensureCollection(schema, o);
        if (ensured.created && schema.name === physical) await pause("after-create", jobId);
        return ensured;
      };
      // the backend's other calls through its prototype, unchanged
      return Object.assign(Object.create(b) as SyncBackend, { ensureCollection: ensure });
    },
    onWindowCommitted: async (w) => {
      await opts.onWindowCommitted?.(w);
      if (windows++ === 0) await pause("mid-build", jobId);
    },
  };
}

/**
 * The barrier of a CDC job's build (docs/cdc.md "During a rebuild"): an empty
 * watermark window, emitted AFTER building_version was committed (create) and
 * BEFORE the build reads anything (manifest, windows). The stream re-reads the
 * job's versions when it reaches a window's watermark (applier.ts), so:
 *   - a change committed after the watermark is decoded after it: the stream
 *     writes it to both versions;
 *   - a change committed before it is in the source when the build reads
 *     (the manifest and every window read after this returns).
 * A change decoded while the stream did not know yet went to the live
 * version only, and is in the build's reads. Every build attempt (a resumed
 * one too) passes the barrier again; it costs one watermark. When the job
 * does not stream on this instance there is nothing to wait for: a stream
 * that starts later loads the job with its building version (setup), and
 * replays everything after its durable LSN with it. false: the stream
 * stopped before the watermark (the run is interrupted and resumes here).
 */
async function cdcKnowsBuilding(r: Rebuild): Promise<boolean> {
  const { a } = r;
  const scope = {
    ...(r.opts.watermarks ? { watermarks: r.opts.watermarks } : {}),
    job: { id: a.job.id },
    signal: a.lost,
    log: a.log,
  };
  const barrier = a.job.cdcEnabled ? openBracket(scope, []) : null;
  if (!barrier) return true;
  try {
    await closeBracket(scope, barrier, { docs: new Map(), deletes: [] });
    return true;
  } catch (e) {
    if (e instanceof StreamStoppedError) return false;
    throw e;
  }
}

/**
 * Adds the version and the spec hash to v(N+1)'s metadata, next to the job's
 * mark its create put there (prepareCollection). Idempotent: a crash before
 * the stage write builds (resumes) and patches again.
 */
async function markVersion(r: Rebuild): Promise<void> {
  const patch = (r.backend as Partial<Pick<TypesenseBackend, "patchCollectionMetadata">>)
    .patchCollectionMetadata;
  if (!patch) return; // a test double without it: the mark alone
  const meta = versionMetadata(r.a.job, r.rb.toVersion, ownerMark(r.a.job.id));
  await patch.call(r.backend, r.physical, meta);
}

/**
 * The new version's document count against the manifest. Without CDC: equal.
 * With CDC (docs/full-sync.md "CDC meanwhile"): at least the manifest's count
 * minus the manifest ids whose row is gone from the source now (CDC deleted
 * them in both versions); ids inserted since are not in the manifest, so the
 * count may be higher. ORDER: num_documents is read BEFORE the source is
 * checked, so a delete between the two lowers the expectation, never the
 * count alone (no spurious failure).
 */
async function verify(r: Rebuild): Promise<void> {
  const manifest = r.sourceRows;
  if (manifest === null) throw new RebuildFailure("verify: the build left no manifest count");
  const remote = await r.backend.getCollection(r.physical);
  const found = remote?.num_documents ?? 0;
  // "Gone" = manifest ids with no document now: rows deleted since the
  // manifest, and rows a document spec's filter leaves out (the manifest holds
  // every root id; reader.existing applies the spec's filter), which the build
  // never wrote. Without CDC nothing else writes v(N+1): at most the manifest
  // (a row deleted after its window was written keeps its doc). With CDC,
  // inserts since the manifest add documents: only the lower bound holds.
  const gone = await manifestIdsGone(r);
  const expected = manifest - gone;
  const upper = r.a.job.cdcEnabled ? Number.POSITIVE_INFINITY : manifest;
  if (found < expected || found > upper) {
    const range = r.a.job.cdcEnabled ? `at least ${expected}` : `${expected} to ${manifest}`;
    throw new RebuildFailure(
      `verify: ${r.physical} holds ${found} documents but the manifest has ${manifest}, ${gone} of them without a document now (expected ${range})`,
    );
  }
  r.stage = nextRebuildStage(r.stage, "verified");
  await setRebuildStage(r.opts.control, r.a.run.id, r.stage);
}

/** Manifest ids of the run without a document in the source now (paged, memory is one page). */
async function manifestIdsGone(r: Rebuild): Promise<number> {
  const source = r.opts.source(r.a.job.sourceClientName);
  const { reader } = await describeOnce(source, r.a.job)();
  const page = 5000;
  let gone = 0;
  for (let seq = 0; ; seq += page) {
    const ids = (await readManifestWindow(r.opts.control, r.a.run.id, seq, page)).map(
      (x) => x.docId,
    );
    if (ids.length === 0) return gone;
    gone += (await idsWithoutRow(reader, ids)).length;
  }
}

/**
 * Repoints the alias in one call, then records it. Resumed after a crash
 * between the two, the alias already names v(N+1): only the record is written.
 */
async function swap(r: Rebuild): Promise<void> {
  const aliases = aliasCallsOf(r.backend);
  if (!aliases) {
    throw new RebuildFailure(
      "swap: the Typesense backend has no alias calls (upsertAlias/getAlias); the alias was not touched",
    );
  }
  const alias = r.a.job.collectionName;
  const named = (await aliases.getAlias(alias))?.collection_name === r.physical;
  let migrationWindowMs: number | null = null;
  if (resumeRebuildStage("swap", { aliasNamesNewVersion: named }) === "swap") {
    // a wave-1 job: Typesense cannot alias a name a collection holds, so the
    // plain collection goes first, back to back with the upsert (the one gap:
    // a search of the name between the two is a 404, which the search routes
    // retry once; its length is measured and recorded with the run)
    const opened = r.rb.fromVersion === null ? await dropIfOwned(r, alias) : null;
    await aliases.upsertAlias(alias, r.physical).catch((e: unknown) => {
      throw new RebuildFailure(`swap: the alias upsert failed: ${(e as Error)?.message ?? e}`);
    });
    if (opened !== null) migrationWindowMs = Math.round(performance.now() - opened);
    await r.opts.rebuildPause?.("after-swap", r.a.job.id);
  }
  const client = await r.opts.control.connect();
  try {
    const { a } = r;
    const rec = { jobId: a.job.id, leaseToken: a.lease.token, runId: a.run.id };
    if (!(await recordSwap(client, { ...rec, version: r.rb.toVersion, migrationWindowMs }))) {
      throw new LeaseLostError(a.job.id);
    }
  } finally {
    client.release();
  }
  r.stage = nextRebuildStage(r.stage, "swapped");
  r.a.log.info(
    { alias, collection: r.physical, migration_window_ms: migrationWindowMs },
    "rebuild: alias swapped",
  );
}

/** Deletes v(N+1) (only with the job's mark) and closes the run failed; v(N) was never touched. */
async function discard(r: Rebuild, reason: string): Promise<RunResult> {
  if (r.stage !== "discard") {
    r.stage = nextRebuildStage(r.stage, "fail");
    // the reason is kept with the stage: a resumed discard closes with it
    await setRebuildStage(r.opts.control, r.a.run.id, r.stage, reason);
  }
  await dropIfOwned(r, r.physical);
  r.stage = nextRebuildStage(r.stage, "discarded");
  r.a.log.error({ error: reason, collection: r.physical }, "rebuild failed; new version dropped");
  return close(r, "failed", reason);
}

/**
 * Deletes `name` when it carries the job's mark. Returns when the delete was
 * sent (performance.now(): where the wave-1 migration window opens), or null
 * when nothing was deleted (absent, or not ours).
 */
async function dropIfOwned(r: Rebuild, name: string): Promise<number | null> {
  const summary = await r.backend.getCollection(name);
  if (ownershipOf(summary, r.a.job.id).kind !== "owned") return null;
  const del = (r.backend as Partial<Pick<TypesenseBackend, "deleteCollection">>).deleteCollection;
  if (!del) throw new Error("the Typesense backend cannot delete collections");
  const sent = performance.now();
  await del.call(r.backend, name);
  return sent;
}

/** Whether v(N+1) may no longer be discarded: the alias names it, or a wave-1 job's plain collection is gone. */
async function pastPointOfNoReturn(r: Rebuild): Promise<boolean> {
  if (r.stage !== "swap") return false;
  const aliases = aliasCallsOf(r.backend);
  if (!aliases) return false;
  const alias = r.a.job.collectionName;
  if ((await aliases.getAlias(alias))?.collection_name === r.physical) return true;
  return r.rb.fromVersion === null && (await r.backend.getCollection(alias)) === null;
}

/** The alias calls of `b`, or null while the client has none. */
export function aliasCallsOf(b: SyncBackend): AliasCalls | null {
  const x = b as Partial<AliasCalls>;
  return typeof x.upsertAlias === "function" && typeof x.getAlias === "function"
    ? (x as AliasCalls)
    : null;
}

async function close(
  r: Rebuild,
  status: "succeeded" | "failed",
  error: string | null,
): Promise<RunResult> {
  const client = await r.opts.control.connect();
  let closed: boolean;
  try {
    closed = await finishRebuildRun(client, {
      runId: r.a.run.id,
      jobId: r.a.job.id,
      leaseToken: r.a.lease.token,
      status,
      error,
      rebuildStage: r.stage,
    });
  } finally {
    client.release();
  }
  return closed ? result(r, status, error) : result(r, "interrupted", null);
}

function result(r: Rebuild, status: RunResult["status"], error: string | null): RunResult {
  const { a } = r;
  return {
    runId: a.run.id,
    jobId: a.job.id,
    status,
    resumed: a.resumed,
    counters: r.counters,
    error,
    rollback: null,
  };
}
