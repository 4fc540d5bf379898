import type { Pools } from "../../db/pool.js";
import type { JobInput } from "../../db/repositories/job-schema.js";
import { type BackendPolicy, createBackend, deleteBackend, updateBackend } from "../backends.js";
import { createJob, deleteJob, type OnRetarget, updateJob } from "../jobs.js";
import type { Plan, ProfileRef } from "./plan.js";

export interface ApplyDeps {
  pools: Pools;
  policy: BackendPolicy;
  /** The config's fullsync.window_size: a new job without window_size gets it (as in the API). */
  windowSize: number;
  /** What the API's PATCH passes (coordination/retarget.ts): a retarget queues the resync. */
  onRetarget: OnRetarget<{ message: string }>;
  /** One line per object written. */
  report: (line: string) => void;
}

export interface ApplyResult {
  created: number;
  updated: number;
  deleted: number;
}

/**
 * Writes a plan with the control operations the API uses, one object at a
 * time; each operation is its own transaction (the operations take the pool:
 * they cannot share one), so the order is what makes a partial apply safe:
 *   1. backends created and updated: every job below finds its backend;
 *   2. jobs updated, then created: an update that frees a collection name
 *      runs before a create that takes it; a retarget goes through updateJob
 *      with onRetarget, which queues the resync in the update's transaction;
 *   3. with --prune, jobs deleted, then backends (a backend still used by a
 *      job is refused by deleteBackend, never cascaded).
 * A failure stops the apply: what was written stays (each object complete),
 * and running plan again shows what is left. The plan was checked as a whole
 * before (computePlan, checkPlanSources), so such a failure is a change made
 * meanwhile (a run holding a job's lease, a name taken).
 */
export async function applyPlan(plan: Plan, deps: ApplyDeps): Promise<ApplyResult> {
  const n: ApplyResult = { created: 0, updated: 0, deleted: 0 };
  const pool = deps.pools.control;
  const createdIds = new Map<string, string>();
  for (const c of plan.backends) {
    if (c.action === "create") {
      const b = await createBackend(pool, deps.policy, c.input);
      createdIds.set(b.name, b.id);
      deps.report(`created backend "${b.name}"`);
      n.created++;
    } else if (c.action === "update" && c.changes.length > 0) {
      await updateBackend(pool, deps.policy, c.current.id, c.patch);
      deps.report(
        `updated backend "${c.desired.name}" (${c.changes.map((f) => f.field).join(", ")})`,
      );
      n.updated++;
    }
  }
  const idOf = (ref: ProfileRef) => {
    const id = "id" in ref ? ref.id : createdIds.get(ref.created);
    if (!id) throw new Error(`backend "${"created" in ref ? ref.created : ""}" was not created`);
    return id;
  };
  for (const c of plan.jobs) {
    if (c.action !== "update" || c.changes.length === 0) continue;
    const patch: Partial<JobInput> = {
      ...c.patch,
      ...(c.profile ? { profile_id: idOf(c.profile) } : {}),
    };
    const { resync } = await updateJob(deps.pools, c.current.id, patch, null, deps.onRetarget);
    const label = `${c.desired.backend}/${c.desired.collection}`;
    deps.report(
      `updated job ${label} (${c.changes.map((f) => f.field).join(", ")})${resync ? `: ${resync.message}` : ""}`,
    );
    n.updated++;
  }
  for (const c of plan.jobs) {
    if (c.action !== "create") continue;
    const job = await createJob(deps.pools, { ...c.input, profile_id: idOf(c.profile) }, null, {
      windowSize: deps.windowSize,
    });
    deps.report(`created job ${c.desired.backend}/${c.desired.collection} (${job.id})`);
    n.created++;
  }
  for (const c of plan.jobs) {
    if (c.action !== "delete") continue;
    await deleteJob(pool, c.current.id, null);
    deps.report(`deleted job ${c.label}`);
    n.deleted++;
  }
  for (const c of plan.backends) {
    if (c.action !== "delete") continue;
    await deleteBackend(pool, c.current.id);
    deps.report(`deleted backend "${c.current.name}"`);
    n.deleted++;
  }
  return n;
}
