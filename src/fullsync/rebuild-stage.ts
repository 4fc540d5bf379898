import { createHash } from "node:crypto";
import { versionCollectionName } from "../coordination/versions.js";

/**
 * The rebuild machine (typesense_sync_runs.rebuild_stage, sql/013) as a pure
 * function. A rebuild run (trigger `rebuild`) walks it; its `build` step is an
 * ordinary full sync into v(N+1), so during `build` the run's `stage` column
 * walks run-stage.ts as any run does (manifest, windows, ...), and its
 * manifest, windows, checkpoints and resume are today's.
 *
 *   create ──created──> build ──built──> verify ──verified──> swap ──swapped──> keep ──kept──> drop ──dropped──> done
 *     │                   │                │                   │
 *     └───────────────────┴──────fail──────┴───────────────────┘  (swap: only while the alias still names v(N))
 *                                   │
 *                                   ▼
 *                               discard ──discarded──> failed
 *
 * What each step writes, and in which order (so a crash at any point resumes
 * to exactly one live version behind the alias):
 * - create:  jobs.building_version = N+1 is committed BEFORE the collection
 *            `<alias>__v<N+1>` is created (with the sidecar's metadata), so a
 *            crash after the create finds the version it must reuse or drop.
 * - build:   the full sync writes v(N+1) explicitly by name; CDC writes every
 *            change to the live version and, once building_version is set, to
 *            v(N+1) too. The alias still names v(N): searchers see v(N) only.
 * - verify:  v(N+1)'s document count = the manifest's count minus the deletes
 *            since (CDC deletes of manifest ids). Reads only.
 * - swap:    ONE alias upsert repoints `<alias>` to v(N+1); then, in one
 *            transaction, jobs.live_version = N+1, building_version = null and
 *            the run's keep_until. A crash between the two: the resumed swap
 *            reads the alias; naming v(N+1) it only writes the transaction.
 * - keep:    the run ends `succeeded` here (it must not hold the job's lease
 *            for rebuild_keep_previous_seconds); v(N) stays until keep_until.
 * - drop:    v(N) is deleted (only when its metadata names this job) after
 *            keep_until; then `done`.
 * - discard: a failure before the swap deletes v(N+1) (by metadata), clears
 *            building_version, and the run ends `failed` with the reason;
 *            v(N) was never touched and keeps serving.
 *
 * Every step may be entered again from its own state: a resumed run re-enters
 * the step it crashed in, and each step is idempotent (create reuses a
 * collection of its own version, swap re-reads the alias, discard and drop
 * treat an absent collection as dropped). `done` and `failed` are final.
 */
export type RebuildStage =
  | "create"
  | "build"
  | "verify"
  | "swap"
  | "keep"
  | "drop"
  | "discard"
  | "done"
  | "failed";

export type RebuildEvent =
  /** v(N+1) exists with the sidecar's metadata (created now or found from an earlier attempt). */
  | "created"
  /** the full sync into v(N+1) finished (its manifest complete, windows written, swept). */
  | "built"
  /** v(N+1)'s count matches the manifest minus deletes since. */
  | "verified"
  /** the alias names v(N+1) and the job row says so. */
  | "swapped"
  /** keep_until passed. */
  | "kept"
  /** v(N) is gone. */
  | "dropped"
  /** a step before the swap failed (the swap itself only while the alias still names v(N)). */
  | "fail"
  /** v(N+1) is gone and building_version cleared. */
  | "discarded";

/** The stages that are open: a crash in one of them is resumed there. */
export const OPEN_REBUILD_STAGES: readonly RebuildStage[] = [
  "create",
  "build",
  "verify",
  "swap",
  "keep",
  "drop",
  "discard",
];

const EDGES: Record<RebuildEvent, { from: readonly RebuildStage[]; to: RebuildStage }> = {
  created: { from: ["create"], to: "build" },
  built: { from: ["build", "verify"], to: "verify" },
  verified: { from: ["verify", "swap"], to: "swap" },
  swapped: { from: ["swap", "keep"], to: "keep" },
  kept: { from: ["keep", "drop"], to: "drop" },
  dropped: { from: ["drop"], to: "done" },
  fail: { from: ["create", "build", "verify", "swap", "discard"], to: "discard" },
  discarded: { from: ["discard"], to: "failed" },
};

export class InvalidRebuildTransition extends Error {
  constructor(
    readonly stage: RebuildStage,
    readonly event: RebuildEvent,
  ) {
    super(`rebuild stage ${stage} has no transition on ${event}`);
    this.name = "InvalidRebuildTransition";
  }
}

/** The stage after `event` in `stage`; throws InvalidRebuildTransition when the diagram has no such edge. */
export function nextRebuildStage(stage: RebuildStage, event: RebuildEvent): RebuildStage {
  const edge = EDGES[event];
  if (!edge.from.includes(stage)) throw new InvalidRebuildTransition(stage, event);
  return edge.to;
}

/**
 * The step a resumed rebuild run re-enters. A run found in `swap` whose alias
 * already names the new version swapped before the crash: it goes on in
 * `keep` (nothing is written twice); otherwise it re-enters its own stage.
 */
export function resumeRebuildStage(
  stage: RebuildStage,
  facts: { aliasNamesNewVersion: boolean },
): RebuildStage {
  if (stage === "swap" && facts.aliasNamesNewVersion) return nextRebuildStage(stage, "swapped");
  return stage;
}

/** `<alias>__v<N>` (coordination/versions.ts: CDC names the same collection). */
export { versionCollectionName };

/** What decides a version's document shape: the job's spec, or its column lists before specs. */
export interface ShapeOfJob {
  id: string;
  documentIdColumn: string;
  includedColumns: readonly string[];
  queryableFields: readonly string[];
  document?: unknown;
}

/**
 * The `metadata` of version N of a job's collection: the sidecar's mark
 * (managed_by + job_id: collection-owner.ts, what ownership checks read),
 * the version, and a hash of what shapes the documents, so an operator (and
 * the sweeper) can tell which spec built which version.
 */
export function versionMetadata(
  job: ShapeOfJob,
  version: number,
  mark: { managed_by: string; job_id: string },
): Record<string, unknown> {
  versionCollectionName("x", version); // the same range check
  return { ...mark, version, spec_hash: specHash(job) };
}

/** sha256 (hex, first 16 chars) of the job's document shape, keys sorted: equal shapes hash equal. */
export function specHash(job: ShapeOfJob): string {
  const shape = {
    document: job.document ?? null,
    document_id_column: job.documentIdColumn,
    included_columns: job.includedColumns,
    queryable_fields: job.queryableFields,
  };
  return createHash("sha256").update(canonicalJson(shape)).digest("hex").slice(0, 16);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
