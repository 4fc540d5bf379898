import { listBackendRecords } from "../db/repositories/backends.js";
import {
  type ExpiredKeep,
  selectExpiredKeeps,
  selectVersionHolds,
  type VersionHolds,
} from "../db/repositories/rebuilds.js";
import { setRebuildStage } from "../db/repositories/runs.js";
import { type Logger, sleepUnlessAborted } from "../lifecycle/index.js";
import type { Service } from "../lifecycle/service.js";
import {
  type CollectionSummary,
  MANAGED_BY,
  ownershipOf,
  type TypesenseBackend,
} from "../typesense/index.js";
import type { SyncBackend } from "./context.js";
import type { FullSyncEngineOptions } from "./engine-types.js";
import { aliasCallsOf } from "./rebuild.js";
import {
  nextRebuildStage,
  type RebuildPause,
  type RebuildStage,
  versionCollectionName,
} from "./rebuild-stage.js";

export interface DropKeptOptions {
  control: FullSyncEngineOptions["control"];
  backendFor: FullSyncEngineOptions["backendFor"];
  log: Logger;
  /** At most this many runs per call (default 20). */
  limit?: number;
  /** Called once per collection deleted (serve counts them in metrics). */
  onDropped?: (kind: "kept" | "orphan") => void;
  /** Test hook (testing.rebuild_pause_at): awaited at the pause points of the drop. */
  rebuildPause?: RebuildPause;
}

/**
 * The keep -> drop -> done steps of rebuild runs whose keep period ended
 * (rebuild-stage.ts): deletes the previous version `<alias>__v<N>`. Returns
 * how many runs reached `done`.
 *
 * Ordering: `drop` is committed before the delete, `done` after it; a crash
 * between them drops again (an absent collection counts as dropped). The
 * version is never deleted when it is the job's live or building version,
 * when the alias names it (an operator aliased back), or when its metadata
 * does not name the job: then the run reaches `done` with nothing deleted.
 * createRebuildDropService runs it on a timer (cli/serve.ts).
 */
export async function dropKeptVersions(opts: DropKeptOptions): Promise<number> {
  const due = await selectExpiredKeeps(opts.control, opts.limit ?? 20);
  let done = 0;
  for (const k of due) {
    const log = opts.log.child({ component: "rebuild-drop", jobId: k.jobId, runId: k.runId });
    let stage = k.stage as RebuildStage;
    if (stage === "keep") {
      stage = nextRebuildStage(stage, "kept");
      await setRebuildStage(opts.control, k.runId, stage);
    }
    await opts.rebuildPause?.("before-drop", k.jobId);
    if (await dropIfSafe(await opts.backendFor(k.profileId), k, log)) opts.onDropped?.("kept");
    await setRebuildStage(opts.control, k.runId, nextRebuildStage(stage, "dropped"));
    done++;
  }
  return done;
}

/** Deletes the kept version when nothing holds it any more; whether it deleted one. */
async function dropIfSafe(backend: SyncBackend, k: ExpiredKeep, log: Logger): Promise<boolean> {
  const v = k.fromVersion;
  if (v === null) return false; // a wave-1 plain collection: dropped by the swap itself
  if (v === k.liveVersion || v === k.buildingVersion) return false;
  const name = versionCollectionName(k.alias, v);
  const aliases = aliasCallsOf(backend);
  if (aliases && (await aliases.getAlias(k.alias))?.collection_name === name) {
    log.warn({ collection: name }, "the alias names the kept version; it is not dropped");
    return false;
  }
  if (ownershipOf(await backend.getCollection(name), k.jobId).kind !== "owned") return false;
  await deleteCollectionOf(backend, name);
  log.info({ collection: name }, "rebuild: previous version dropped after its keep period");
  return true;
}

function deleteCollectionOf(backend: SyncBackend, name: string): Promise<boolean> {
  const del = (backend as Partial<Pick<TypesenseBackend, "deleteCollection">>).deleteCollection;
  if (!del) throw new Error("the Typesense backend cannot delete collections");
  return del.call(backend, name);
}

/** Keep period of an orphan whose job is gone (the column's default, sql/013). */
const DEFAULT_KEEP_SECONDS = 600;

/** A `<alias>__v<N>` collection the sidecar made for a job (by its metadata). */
interface VersionCollection {
  name: string;
  alias: string;
  version: number;
  jobId: string;
  /** Seconds since the epoch (Typesense's created_at); null when the server gave none. */
  createdAt: number | null;
}

/**
 * The sidecar's own version collections: named `<alias>__v<N>` AND marked
 * `managed_by` + `job_id` in their metadata. A foreign `x__v3` (no mark, or
 * another product's) is never one of them, whatever its name.
 */
export function versionCollectionsOf(list: readonly CollectionSummary[]): VersionCollection[] {
  const out: VersionCollection[] = [];
  for (const c of list) {
    const m = /^(.+)__v([1-9][0-9]*)$/.exec(c.name);
    const meta = (c.metadata ?? {}) as Record<string, unknown>;
    if (!m || meta.managed_by !== MANAGED_BY || typeof meta.job_id !== "string") continue;
    const createdAt = typeof c.created_at === "number" ? c.created_at : null;
    out.push({ name: c.name, alias: m[1]!, version: Number(m[2]), jobId: meta.job_id, createdAt });
  }
  return out;
}

/**
 * Why `c` must stay, or null when it is an orphan: the job's live or building
 * version, a version an open rebuild builds, a previous version within its
 * keep period, named by any alias, or younger than the keep period (its job's,
 * or the default when the job is gone). Pure: the sweeper's rules in one place.
 */
export function orphanHold(
  c: VersionCollection,
  holds: VersionHolds | undefined,
  aliased: ReadonlySet<string>,
  nowSeconds: number,
): string | null {
  if (aliased.has(c.name)) return "named by an alias";
  if (holds && holds.alias === c.alias) {
    if (c.version === holds.liveVersion) return "live";
    if (c.version === holds.buildingVersion || holds.openVersions.includes(c.version)) {
      return "building";
    }
    if (holds.keptVersions.includes(c.version)) return "kept";
  }
  const keep = holds?.keepSeconds ?? DEFAULT_KEEP_SECONDS;
  if (c.createdAt === null || c.createdAt + keep > nowSeconds) return "within the keep period";
  return null;
}

/**
 * The orphan sweeper: deletes the sidecar's `__v<N>` collections that nothing
 * holds (orphanHold) on every profile; returns how many it deleted. Orphans
 * come from crashes and cancelled rebuilds (a join resync ending an open
 * rebuild), retargets (the old alias' non-live versions) and deleted jobs.
 *
 * Ordering: the collections are listed BEFORE the holds are read. The create
 * step commits building_version before it creates a version (rebuild.ts), so
 * every version listed here that a rebuild builds is held in the holds read
 * after; the keep-period age gate covers anything else in flight. Each
 * collection is read again right before its delete: it must still carry the
 * same job's mark.
 */
export async function sweepOrphanVersions(
  opts: DropKeptOptions & { nowSeconds?: () => number },
): Promise<number> {
  let dropped = 0;
  for (const profile of await listBackendRecords(opts.control)) {
    const backend = await opts.backendFor(profile.id);
    const list = (backend as Partial<Pick<TypesenseBackend, "listCollections">>).listCollections;
    if (!list) continue; // a test double without it: nothing to sweep
    const versions = versionCollectionsOf(await list.call(backend));
    if (versions.length === 0) continue;
    const aliases = aliasCallsOf(backend) ? await listAliasesOf(backend) : [];
    const aliased = new Set(aliases.map((a) => a.collection_name));
    const jobIds = [...new Set(versions.map((v) => v.jobId))];
    const holds = new Map(
      (await selectVersionHolds(opts.control, jobIds)).map((h) => [h.jobId, h]),
    );
    const now = opts.nowSeconds?.() ?? Date.now() / 1000;
    for (const v of versions) {
      if (orphanHold(v, holds.get(v.jobId), aliased, now) !== null) continue;
      if (ownershipOf(await backend.getCollection(v.name), v.jobId).kind !== "owned") continue;
      await deleteCollectionOf(backend, v.name);
      dropped++;
      opts.onDropped?.("orphan");
      const why = holds.has(v.jobId) ? "no longer live, building or kept" : "its job is gone";
      opts.log.info(
        { component: "rebuild-drop", jobId: v.jobId, collection: v.name, why },
        "rebuild: orphan version dropped",
      );
    }
  }
  return dropped;
}

function listAliasesOf(backend: SyncBackend) {
  const list = (backend as Partial<Pick<TypesenseBackend, "listAliases">>).listAliases;
  return list ? list.call(backend) : Promise.resolve([]);
}

/**
 * Runs dropKeptVersions, then sweepOrphanVersions, every `everyMs` (default
 * 60 s) until stopped: one timer for both. The previous versions of finished
 * rebuilds go once their keep period ended, orphans once nothing holds them.
 * A failed pass is logged and retried the next period (each step idempotent).
 */
export function createRebuildDropService(
  opts: DropKeptOptions & { everyMs?: number },
): Service & { stop(): void } {
  const every = opts.everyMs ?? 60_000;
  const ctl = new AbortController();
  return {
    name: "rebuild-drop",
    stop: () => ctl.abort(),
    async run(outer) {
      const signal = AbortSignal.any([outer, ctl.signal]);
      do {
        try {
          await dropKeptVersions(opts);
        } catch (e) {
          opts.log.warn({ component: "rebuild-drop", err: e }, "dropping kept versions failed");
        }
        try {
          await sweepOrphanVersions(opts);
        } catch (e) {
          opts.log.warn({ component: "rebuild-drop", err: e }, "sweeping orphan versions failed");
        }
      } while (await sleepUnlessAborted(every, signal));
    },
  };
}
