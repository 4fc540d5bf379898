import { setTimeout as sleep } from "node:timers/promises";
import { TypesenseError } from "../typesense/index.js";

/*
 * The wave-1 migration window (docs/full-sync.md "Migration of a wave-1 plain
 * collection"): a job's first rebuild deletes its plain collection and upserts
 * the alias of the same name back to back, so for the time between the two
 * calls (recorded per run in typesense_sync_runs.rebuild_migration_window_ms,
 * a few ms on a local Typesense) the job's collection name is not found.
 * A search of a job's collection that answers 404 is sent ONCE more after
 * ALIAS_WINDOW_PAUSE_MS: inside the window the second search finds the alias;
 * a collection that really is gone still 404s, one pause later. Only reads are
 * retried (searches, a collection retrieve), so the retry never doubles a write.
 */

/** The pause before the one retry: well above a measured window, short for a real 404. */
export const ALIAS_WINDOW_PAUSE_MS = 250;

/** `fn` (a search throwing TypesenseError), once more after the pause when it failed with 404. */
export async function onceMoreInAliasWindow<T>(
  fn: () => Promise<T>,
  pauseMs = ALIAS_WINDOW_PAUSE_MS,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof TypesenseError && e.status === 404)) throw e;
    await sleep(pauseMs);
    return fn();
  }
}

/** `fn` (a passed-through answer with a status), once more after the pause when it answered 404. */
export async function onceMoreOnStatus404<T extends { status: number }>(
  fn: () => Promise<T>,
  pauseMs = ALIAS_WINDOW_PAUSE_MS,
): Promise<T> {
  const first = await fn();
  if (first.status !== 404) return first;
  await sleep(pauseMs);
  return fn();
}
