import type pg from "pg";
import { describeTable, type TableInfo } from "../catalog/index.js";
import { RunConflictError, requestJoinResync } from "../coordination/request-run.js";
import { versionCollectionName } from "../coordination/versions.js";
import {
  type CdcJob,
  clearAppliedLsn,
  loadCdcJobs,
  markResyncRequested,
  resyncRequestedIds,
} from "../db/repositories/cdc-jobs.js";
import { createDocumentMapper } from "../documents/index.js";
import { createWindowReader } from "../documents/window-reader.js";
import { type Logger, redactText } from "../lifecycle/logger.js";
import { errorMessage } from "./errors.js";
import { formatLsn } from "./lsn.js";
import { type SetupResult, specTargetOf } from "./setup.js";
import type { SpecTarget } from "./spec-target.js";
import { markStreamJobs, recordProbe, type StreamStatus } from "./stream-store.js";
import { type CdcBackend, type JobTarget, probeWrite } from "./writer.js";

/** A job the stream applies: its mapper, backend and source reader. */
export type StreamTarget = JobTarget & { schema: string; table: string; job: CdcJob };

export async function buildTarget(
  job: CdcJob,
  table: TableInfo,
  source: pg.Pool,
  backendFor: (profileId: string) => Promise<CdcBackend>,
  spec?: SpecTarget,
): Promise<StreamTarget> {
  // a spec job's documents come from its spec's statement: its mapper only
  // names the id column (its other columns may be anything the spec reads)
  const mapper = createDocumentMapper(
    table,
    spec
      ? {
          documentIdColumn: job.documentIdColumn,
          includedColumns: [job.documentIdColumn],
          queryableFields: [],
        }
      : {
          documentIdColumn: job.documentIdColumn,
          includedColumns: job.includedColumns,
          queryableFields: job.queryableFields,
        },
  );
  return {
    ...(spec ? { spec } : {}),
    ...versionsOf(job),
    jobId: job.id,
    collection: job.collectionName,
    backend: await backendFor(job.profileId),
    mapper,
    reader: createWindowReader({ source, mapper }),
    schema: job.schema,
    table: job.table,
    job,
  };
}

/**
 * The dual-write part of a job's target: while a rebuild builds version N,
 * its `<collection>__v<N>` (docs/cdc.md). A versioned job (live or building
 * version set) never has a missing collection created by CDC: its name is
 * an alias (or a wave-1 collection the swap deletes right before the alias
 * takes the name), and ensureCollection on it would make a real collection
 * under the alias's name.
 */
export function versionsOf(
  job: Pick<CdcJob, "collectionName" | "liveVersion" | "buildingVersion">,
): Pick<JobTarget, "building" | "noCreate"> {
  const versioned = job.liveVersion !== null || job.buildingVersion !== null;
  return {
    ...(versioned ? { noCreate: true } : {}),
    ...(job.buildingVersion !== null
      ? {
          building: {
            version: job.buildingVersion,
            collection: versionCollectionName(job.collectionName, job.buildingVersion),
          },
        }
      : {}),
  };
}

/**
 * After setup: makes a lost slot visible (status "lost", last_error, error
 * log), records and requests a full resync of every job that missed changes
 * (all of them after a lost slot; otherwise those joining the stream, and
 * those whose earlier resync is still pending), records stream membership in
 * cdc_applied_lsn, and reports jobs whose tables were rejected.
 */
export async function afterSetup(
  ctx: {
    control: pg.Pool;
    clientName: string;
    slotName: string;
    log: Logger;
    resync: (jobId: string) => Promise<void>;
    status: (s: StreamStatus, error?: string) => Promise<void>;
  },
  setup: SetupResult,
): Promise<void> {
  const { log } = ctx;
  const accepted = setup.accepted.map((a) => a.job);
  const ids = accepted.map((j) => j.id);
  if (setup.slotLostReason) {
    const msg = `replication slot "${ctx.slotName}" was lost (${setup.slotLostReason}); recreated at ${formatLsn(setup.startLsn)}, rebuild requested for ${accepted.length} job(s)`;
    log.error({ jobs: ids }, msg);
    await ctx.status("lost", msg);
  }
  const toResync = setup.slotLostReason ? accepted : accepted.filter((j) => !j.cdcAppliedLsn);
  // Write order (what makes the resync durable):
  //   (1) cdc_resync_requested_at = now(): the slot and publication exist, so a
  //       run first started after this time reads every window after the join
  //   (2) the resync is requested (requestJoinResync clears (1) when it queues
  //       or accepts the run, in the same transaction)
  //   (3) the job is marked joined (cdc_applied_lsn)
  // A crash before (3) leaves cdc_applied_lsn null: the next setup sees the job
  // as joining again. After (3), the marker of (1) stays until a run is
  // accepted: the supervisor of whichever instance leads retries it every poll.
  // (1)
  // a lost slot asks for a rebuild (the marker carries why: requestJoinResync
  // queues a `rebuild` run with it), a join for a resync
  const lost = setup.slotLostReason
    ? `replication slot "${ctx.slotName}" was lost (${setup.slotLostReason})`
    : null;
  await markResyncRequested(
    ctx.control,
    toResync.map((j) => j.id),
    lost,
  );
  if (setup.slotLostReason) await clearAppliedLsn(ctx.control, ids);
  // the joining jobs, and those whose resync from an earlier setup is still pending
  for (const id of await resyncRequestedIds(ctx.control, ids)) {
    await ctx.resync(id); // (2)
    log.info({ jobId: id }, "full resync requested: the job missed changes");
  }
  await markStreamJobs(ctx.control, ctx.clientName, ids, ids, setup.startLsn); // (3)
  if (setup.rejected.length > 0) {
    const msg = setup.rejected.map((r) => `job ${r.job.id}: ${r.reason}`).join("; ");
    log.error({ rejected: setup.rejected.map((r) => r.job.id) }, `jobs not streamed: ${msg}`);
    await ctx.status(accepted.length > 0 ? "starting" : "error", msg);
  } else {
    await ctx.status("starting");
  }
}

/**
 * requestJoinResync: a run holding the lease now leaves the job's marker set;
 * the supervisor (or this stream's next setup) requests it again.
 */
export function defaultResync(control: pg.Pool): (jobId: string) => Promise<void> {
  return async (jobId) => {
    try {
      await requestJoinResync(control, jobId);
    } catch (e) {
      if (!(e instanceof RunConflictError)) throw e;
    }
  };
}

/**
 * Probes every parked job of a client with one authenticated write
 * (writer.ts probeWrite, with the backend as it is configured now). A job
 * whose backend accepts it is unparked: the stream's jobs poll then sets the
 * stream up again with it, and as a joining job it gets its watermarked
 * resync (afterSetup). A refusal only updates cdc_parked_error.
 */
export async function probeParkedJobs(ctx: {
  control: pg.Pool;
  source: pg.Pool;
  clientName: string;
  backendFor: (profileId: string) => Promise<CdcBackend>;
  log: Logger;
}): Promise<void> {
  for (const job of await loadCdcJobs(ctx.control, ctx.clientName, { parked: true })) {
    let error: string | null = null;
    try {
      const table = await describeTable(ctx.source, { schema: job.schema, table: job.table });
      const spec = await specTargetOf(ctx.source, job);
      await probeWrite(await buildTarget(job, table, ctx.source, ctx.backendFor, spec));
    } catch (e) {
      error = redactText(errorMessage(e));
    }
    await recordProbe(ctx.control, job.id, error);
    if (error === null)
      ctx.log.info({ jobId: job.id }, "parked CDC job accepted again; it rejoins");
  }
}
