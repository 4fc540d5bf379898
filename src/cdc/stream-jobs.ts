import type pg from "pg";
import { createDocumentMapper, type TableInfo } from "../catalog/index.js";
import { RunConflictError, requestRun } from "../fullsync/request-run.js";
import { createWindowReader } from "../fullsync/window-reader.js";
import type { Logger } from "../lifecycle/logger.js";
import type { CdcJob } from "./jobs.js";
import { formatLsn } from "./lsn.js";
import type { SetupResult } from "./setup.js";
import { markStreamJobs, type StreamStatus } from "./stream-store.js";
import type { CdcBackend, JobTarget } from "./writer.js";

/** A job the stream applies: its mapper, backend and source reader. */
export type StreamTarget = JobTarget & { schema: string; table: string; job: CdcJob };

export async function buildTarget(
  job: CdcJob,
  table: TableInfo,
  source: pg.Pool,
  backendFor: (profileId: string) => Promise<CdcBackend>,
): Promise<StreamTarget> {
  const mapper = createDocumentMapper(table, {
    documentIdColumn: job.documentIdColumn,
    includedColumns: job.includedColumns,
    queryableFields: job.queryableFields,
  });
  return {
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
 * After setup: makes a lost slot visible (status "lost", last_error, error
 * log), requests a full resync of every job that missed changes (all of them
 * after a lost slot; otherwise those joining the stream), records stream
 * membership in cdc_applied_lsn, and reports jobs whose tables were rejected.
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
    const msg = `replication slot "${ctx.slotName}" was lost (${setup.slotLostReason}); recreated at ${formatLsn(setup.startLsn)}, full resync requested for ${accepted.length} job(s)`;
    log.error({ jobs: ids }, msg);
    await ctx.status("lost", msg);
  }
  const toResync = setup.slotLostReason ? accepted : accepted.filter((j) => !j.cdcAppliedLsn);
  for (const j of toResync) {
    await ctx.resync(j.id);
    log.info({ jobId: j.id }, "full resync requested: the job missed changes");
  }
  if (setup.slotLostReason) {
    await ctx.control.query(
      "update typesense_sync_jobs set cdc_applied_lsn = null where id = any($1::uuid[])",
      [ids],
    );
  }
  await markStreamJobs(ctx.control, ctx.clientName, ids, ids, setup.startLsn);
  if (setup.rejected.length > 0) {
    const msg = setup.rejected.map((r) => `job ${r.job.id}: ${r.reason}`).join("; ");
    log.error({ rejected: setup.rejected.map((r) => r.job.id) }, `jobs not streamed: ${msg}`);
    await ctx.status(accepted.length > 0 ? "starting" : "error", msg);
  } else {
    await ctx.status("starting");
  }
}

/** requestRun(trigger "resync"); a run going on now reads the rows after this point anyway. */
export function defaultResync(control: pg.Pool): (jobId: string) => Promise<void> {
  return async (jobId) => {
    try {
      await requestRun(control, { jobId, trigger: "resync" });
    } catch (e) {
      if (!(e instanceof RunConflictError)) throw e;
    }
  };
}
