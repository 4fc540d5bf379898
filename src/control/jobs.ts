import type pg from "pg";
import type { Pools } from "../db/pool.js";
import {
  JOB_FIELDS,
  type JobFields,
  type JobInput,
  RETARGET_FIELDS,
  SOURCE_FIELDS,
} from "../db/repositories/job-schema.js";
import {
  deleteJobUnlessLeased,
  insertJob,
  type Job,
  jobLeaseLive,
  profileExists,
  selectJob,
  selectJobById,
  selectJobs,
  updateJobFields,
} from "../db/repositories/jobs.js";
import { type Db, inTransaction } from "../db/transaction.js";
import { assertClientAllowed, type ClientScope } from "./client-scope.js";
import { canonicalSpec, type RebuildReason } from "./document-change.js";
import { ConflictError, InvalidInputError, isUuid, NotFoundError, pgCode } from "./errors.js";
import {
  checkDocumentChange,
  DocumentRebuildRequiredError,
  resolveJobDocument,
} from "./job-document.js";
import { validateJobSource } from "./job-validation.js";

/** A stored job (db/repositories/jobs.ts, typed from the job schema). */
export type { Job, JobInput };
export { RETARGET_FIELDS };

/** The retarget fields whose value the patch changes (arrays compared element-wise, in order). */
export function retargetedFields(row: Job, patch: Partial<JobInput>): string[] {
  return RETARGET_FIELDS.filter(
    (f) => patch[f] !== undefined && JSON.stringify(patch[f]) !== JSON.stringify(row[f]),
  );
}

/** 409 while a run holds the job's lease: that run reads and writes the old target. */
export async function assertNoLiveRun(db: pg.PoolClient, jobId: string): Promise<void> {
  if (await jobLeaseLive(db, jobId)) {
    throw new ConflictError(
      `sync job ${jobId} is running; change its target (profile, collection, source table or fields) after the run`,
    );
  }
}

export async function listJobs(
  pool: pg.Pool,
  f: { scope: ClientScope; client?: string | undefined; enabled?: boolean | undefined },
): Promise<Job[]> {
  return selectJobs(pool, { scope: f.scope, client: f.client ?? null, enabled: f.enabled ?? null });
}

export async function getJob(db: Db, id: string, scope: ClientScope): Promise<Job> {
  const job = isUuid(id) ? await selectJob(db, id, scope) : null;
  if (!job) throw new NotFoundError(`sync job ${id} not found`);
  return job;
}

async function assertProfile(db: Db, id: string): Promise<void> {
  const ok = isUuid(id) && (await profileExists(db, id));
  if (!ok) throw new InvalidInputError(`profile_id ${id}: no such backend`, "profile_id");
}

function writeError(e: unknown, collection: unknown): never {
  if (pgCode(e) === "23505") {
    throw new ConflictError(
      `collection "${String(collection)}" is already bound to another job on this backend`,
    );
  }
  throw e;
}

/**
 * Creates a job. `defaults.windowSize` (the config's `fullsync.window_size`) is
 * stored as the job's window_size when the input has none: a later change of
 * the config does not change existing jobs (PATCH their window_size).
 */
export async function createJob(
  pools: Pools,
  input: JobInput,
  scope: ClientScope,
  defaults: { windowSize?: number } = {},
): Promise<Job> {
  assertClientAllowed(scope, input.source_client_name);
  await assertProfile(pools.control, input.profile_id);
  await validateJobSource(pools, input);
  // resolved before the insert: a spec that does not fit is never stored
  if (input.document) await resolveJobDocument(pools, input, input.document);
  const row: JobInput = { ...input, window_size: input.window_size ?? defaults.windowSize };
  try {
    return await insertJob(pools.control, row);
  } catch (e) {
    writeError(e, input.collection_name);
  }
}

/** What the document part of an update needs (checkDocumentUpdate). */
export interface DocumentUpdate {
  /** ["document"] when the change needs a run (additive, or a rebuild); else []. */
  changed: string[];
  /** The change needs a new collection: the reasons (a rebuild is queued); null otherwise. */
  rebuild: RebuildReason[] | null;
}

const NO_DOCUMENT_CHANGE: DocumentUpdate = { changed: [], rebuild: null };

/**
 * The document part of an update, checked before anything is written. The
 * merged job's spec is resolved against the catalog when the patch changes
 * the spec or a source field (a bad one is 400 DOCUMENT_SPEC_INVALID). A
 * changed spec is classified against the stored one (job-document.ts),
 * except when the job moves to another collection in the same patch
 * (profile_id or collection_name): that collection is made from the new
 * spec. An additive change needs a full run (its collection step adds the
 * new fields, its windows fill them); any other needs a rebuild (`rebuild`
 * names why; updateJob's hook queues it). A CDC job's such change is refused
 * (409 DOCUMENT_REBUILD_REQUIRED, saying what to do): its stream would write
 * the new design into the live version until the swap.
 *
 * Ordering: updateJob calls this with the job row locked (FOR UPDATE) and
 * before its write, so the spec a change is classified against is the one
 * it replaces (two PATCHes cannot both pass against the same old spec), and
 * a refused change leaves the row, its runs and its collection as they were.
 */
export async function checkDocumentUpdate(
  pools: Pools,
  row: JobFields,
  patch: Partial<JobInput>,
  retarget: readonly string[],
): Promise<DocumentUpdate> {
  const patched = patch.document !== undefined;
  if (!patched && !SOURCE_FIELDS.some((c) => patch[c] !== undefined)) return NO_DOCUMENT_CHANGE;
  const merged = { ...row, ...patch } as JobFields;
  const resolved = merged.document
    ? await resolveJobDocument(pools, merged, merged.document)
    : undefined;
  if (!patched || canonicalSpec(row.document) === canonicalSpec(merged.document)) {
    return NO_DOCUMENT_CHANGE;
  }
  if (retarget.includes("profile_id") || retarget.includes("collection_name")) {
    return { changed: ["document"], rebuild: null };
  }
  const change = await checkDocumentChange(pools, row, merged, resolved);
  if (change.kind === "none") return NO_DOCUMENT_CHANGE;
  if (change.kind === "additive") return { changed: ["document"], rebuild: null };
  // CDC renders each change with the job's stored design and writes the live
  // version too (dual-write): it would mix the NEW design into the live version
  // until the swap. Refused, nothing written
  if (merged.cdc_enabled === true) throw new DocumentRebuildRequiredError(change.reasons);
  return { changed: ["document"], rebuild: change.reasons };
}

/** What updateJob wrote, and what `onRetarget` returned (null: no retarget). */
export interface JobUpdate<R> {
  job: Job;
  resync: R | null;
}

/**
 * Called in updateJob's transaction after a retarget was written (the job row
 * locked, no run holding its lease): starts the resync of the new shape, or
 * with `rebuild` (a spec change that needs a new collection: its reasons)
 * queues the rebuild (coordination/retarget.ts, passed in by the route).
 */
export type OnRetarget<R> = (
  db: pg.PoolClient,
  job: Job,
  changed: string[],
  rebuild: RebuildReason[] | null,
) => Promise<R>;

/**
 * Applies a partial update. When a source field changes, the merged job is
 * validated against the source table again before anything is written; the
 * row is locked meanwhile so two edits cannot interleave. A scoped caller
 * reaches only its client's jobs and cannot move one to another client.
 *
 * A retarget (RETARGET_FIELDS: profile, collection, source table, id column,
 * included columns or queryable fields changed) is refused while a run holds
 * the lease and otherwise starts a full resync of the new shape in the same
 * transaction: the update and the resync request commit together or not at
 * all (`onRetarget`; without it a retarget is written like any edit).
 * A spec change that only adds fields counts as such a change ("document"
 * in `changed`); one that needs a new collection too, and `onRetarget` gets
 * its reasons and queues a rebuild in the same transaction (a CDC job's is
 * refused before any write: checkDocumentUpdate).
 */
export async function updateJob<R>(
  pools: Pools,
  id: string,
  patch: Partial<JobInput>,
  scope: ClientScope,
  onRetarget?: OnRetarget<R>,
): Promise<JobUpdate<R>> {
  if (!isUuid(id)) throw new NotFoundError(`sync job ${id} not found`);
  return inTransaction(pools.control, async (db) => {
    const row = await selectJob(db, id, scope, { forUpdate: true });
    if (!row) throw new NotFoundError(`sync job ${id} not found`);
    if (!JOB_FIELDS.some((c) => patch[c] !== undefined)) return { job: row, resync: null };
    assertClientAllowed(scope, patch.source_client_name);
    if (patch.profile_id !== undefined) await assertProfile(db, patch.profile_id);
    if (SOURCE_FIELDS.some((c) => patch[c] !== undefined)) {
      const merged = { ...row, ...patch } as unknown as JobInput;
      await validateJobSource(pools, merged);
    }
    const retarget = retargetedFields(row, patch);
    const doc = await checkDocumentUpdate(pools, row, patch, retarget);
    const changed = [...retarget, ...doc.changed];
    if (changed.length > 0) await assertNoLiveRun(db, id);
    let updated: Job;
    try {
      updated = await updateJobFields(db, id, patch);
    } catch (e) {
      writeError(e, patch.collection_name);
    }
    if (changed.length === 0 || !onRetarget) return { job: updated, resync: null };
    const resync = await onRetarget(db, updated, changed, doc.rebuild);
    // the resync may have changed the row (CDC join reset): answer with it as committed
    return { job: (await selectJobById(db, id))!, resync };
  });
}

/** Deletes a job with its runs and dead letters; refused while a run holds the lease. */
export async function deleteJob(pool: pg.Pool, id: string, scope: ClientScope): Promise<void> {
  const row = isUuid(id) ? await deleteJobUnlessLeased(pool, id, scope) : null;
  if (!row) throw new NotFoundError(`sync job ${id} not found`);
  if (row.leased) throw new ConflictError(`sync job ${id} is running; delete it after the run`);
}
