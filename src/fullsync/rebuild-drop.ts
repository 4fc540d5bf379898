import { type ExpiredKeep, selectExpiredKeeps } from "../db/repositories/rebuilds.js";
import { setRebuildStage } from "../db/repositories/runs.js";
import { type Logger, sleepUnlessAborted } from "../lifecycle/index.js";
import type { Service } from "../lifecycle/service.js";
import { ownershipOf, type TypesenseBackend } from "../typesense/index.js";
import type { SyncBackend } from "./context.js";
import type { FullSyncEngineOptions } from "./engine-types.js";
import { aliasCallsOf } from "./rebuild.js";
import { nextRebuildStage, type RebuildStage, versionCollectionName } from "./rebuild-stage.js";

export interface DropKeptOptions {
  control: FullSyncEngineOptions["control"];
  backendFor: FullSyncEngineOptions["backendFor"];
  log: Logger;
  /** At most this many runs per call (default 20). */
  limit?: number;
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
    await dropIfSafe(await opts.backendFor(k.profileId), k, log);
    await setRebuildStage(opts.control, k.runId, nextRebuildStage(stage, "dropped"));
    done++;
  }
  return done;
}

async function dropIfSafe(backend: SyncBackend, k: ExpiredKeep, log: Logger): Promise<void> {
  const v = k.fromVersion;
  if (v === null) return; // a wave-1 plain collection: dropped by the swap itself
  if (v === k.liveVersion || v === k.buildingVersion) return;
  const name = versionCollectionName(k.alias, v);
  const aliases = aliasCallsOf(backend);
  if (aliases && (await aliases.getAlias(k.alias))?.collection_name === name) {
    log.warn({ collection: name }, "the alias names the kept version; it is not dropped");
    return;
  }
  if (ownershipOf(await backend.getCollection(name), k.jobId).kind !== "owned") return;
  const del = (backend as Partial<Pick<TypesenseBackend, "deleteCollection">>).deleteCollection;
  if (!del) throw new Error("the Typesense backend cannot delete collections");
  await del.call(backend, name);
  log.info({ collection: name }, "rebuild: previous version dropped after its keep period");
}

/**
 * Runs dropKeptVersions every `everyMs` (default 60 s) until stopped: the
 * previous versions of finished rebuilds go once their keep period ended. A
 * failed pass is logged and retried the next period (each step idempotent).
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
      } while (await sleepUnlessAborted(every, signal));
    },
  };
}
