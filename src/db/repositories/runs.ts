import type pg from "pg";
import { type Db, inClientTransaction } from "../transaction.js";
import type { DocumentSpecInput } from "./document-spec.js";
import { withNumbers } from "./rows.js";
import { type ClientScope, jobInScope } from "./scope-sql.js";

/** What started a run (typesense_sync_runs.trigger). */
export type RunTrigger = "schedule" | "manual" | "cli" | "resync" | "rebuild";

/**
 * Typed access to typesense_sync_jobs / typesense_sync_runs for the engine.
 *
 * Run stages (typesense_sync_runs.stage) and statuses:
 *
 *   queued ──> manifest ──> windows ──> orphan_sweep ──> finished (succeeded)
 *                 │            │              │
 *                 │            └──────────────┴──> rollback ──> finished (failed,
 *                 │                 (saga on,                     rollback succeeded|failed)
 *                 │               write failed)
 *                 └──> finished (failed: catalog/type conflict/saga off)
 *
 * status is `running` from the first claim until `finished`, including the
 * rollback stage, so the run stays "open" (typesense_sync_runs_one_open_idx)
 * and a crashed instance's run is resumed, never duplicated: a crash in any
 * stage resumes in that stage at its checkpoint (resume_attempt_count + 1).
 */
export type RunStage = "queued" | "manifest" | "windows" | "orphan_sweep" | "rollback" | "finished";

export interface JobRow {
  id: string;
  profileId: string;
  sourceClientName: string;
  sourceSchemaName: string;
  sourceTableName: string;
  collectionName: string;
  documentIdColumn: string;
  includedColumns: string[];
  queryableFields: string[];
  syncIntervalSeconds: number;
  windowSize: number;
  enabled: boolean;
  /** CDC streams the job's table (a stream may write its docs during a run). */
  cdcEnabled: boolean;
  /** The job may take over an existing collection that lacks its mark (sql/007, collection-owner.ts). */
  adoptExistingCollection: boolean;
  /**
   * The job's document spec (sql/010; document-spec.ts), null or absent: the
   * job renders included_columns / queryable_fields as before specs existed.
   * Checked against the catalog by documents/ when a run reads the rows.
   */
  document?: DocumentSpecInput | null;
  /**
   * sql/017: the live version holds the job's previous design (a spec change
   * queued a rebuild that has not swapped yet): the reasons; null otherwise.
   */
  rebuildRequired?: string | null;
  /**
   * The version the job's alias names (sql/013): set, the job's collection_name
   * is an alias to `<collection_name>__v<liveVersion>` (new jobs start at 1);
   * null or absent, a wave-1 job on a plain collection of that name.
   */
  liveVersion?: number | null;
}

/** Counters a run accumulates; persisted with every checkpoint. */
export interface RunCounters {
  imported: number;
  unchanged: number;
  failed: number;
  deleted: number;
  retries: number;
}

export interface RunRow {
  id: string;
  jobId: string;
  trigger: RunTrigger;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  stage: RunStage;
  counters: RunCounters;
  manifestComplete: boolean;
  manifestTotalRows: number | null;
  manifestProcessedRows: number;
  nextManifestSeq: number;
  resumeAttemptCount: number;
  rollbackStatus: "not_needed" | "running" | "succeeded" | "failed";
  rollbackRestoredCount: number;
  rollbackDeletedCount: number;
  errorMessage: string | null;
  /** A rebuild run's step (sql/013; fullsync/rebuild-stage.ts); null for every other trigger. */
  rebuildStage: string | null;
}

export async function loadJob(db: Db, jobId: string): Promise<JobRow | null> {
  const r = await db.query<Record<string, unknown>>(
    `select id, profile_id, source_client_name, source_schema_name, source_table_name,
            collection_name, document_id_column, included_columns, queryable_fields,
            sync_interval_seconds, window_size, enabled, cdc_enabled, adopt_existing_collection,
            document, rebuild_required, live_version
       from typesense_sync_jobs j where id = $1`,
    [jobId],
  );
  const j = r.rows[0];
  if (!j) return null;
  return {
    id: String(j.id),
    profileId: String(j.profile_id),
    sourceClientName: String(j.source_client_name),
    sourceSchemaName: String(j.source_schema_name),
    sourceTableName: String(j.source_table_name),
    collectionName: String(j.collection_name),
    documentIdColumn: String(j.document_id_column),
    includedColumns: j.included_columns as string[],
    queryableFields: j.queryable_fields as string[],
    syncIntervalSeconds: Number(j.sync_interval_seconds),
    windowSize: Number(j.window_size),
    enabled: Boolean(j.enabled),
    cdcEnabled: Boolean(j.cdc_enabled),
    adoptExistingCollection: Boolean(j.adopt_existing_collection),
    document: (j.document as DocumentSpecInput | null | undefined) ?? null,
    rebuildRequired: (j.rebuild_required as string | null | undefined) ?? null,
    liveVersion:
      j.live_version === null || j.live_version === undefined ? null : Number(j.live_version),
  };
}

const RUN_COLUMNS = `id, job_id, trigger, status, stage, imported_count, unchanged_count,
  failed_count, deleted_count, retry_attempt_count, manifest_complete, manifest_total_rows,
  manifest_processed_rows, next_manifest_seq, resume_attempt_count, rollback_status,
  rollback_restored_count, rollback_deleted_count, error_message, rebuild_stage`;

function toRun(r: Record<string, unknown>): RunRow {
  const n = (v: unknown) => Number(v ?? 0);
  return {
    id: String(r.id),
    jobId: String(r.job_id),
    trigger: r.trigger as RunTrigger,
    status: r.status as RunRow["status"],
    stage: r.stage as RunStage,
    counters: {
      imported: n(r.imported_count),
      unchanged: n(r.unchanged_count),
      failed: n(r.failed_count),
      deleted: n(r.deleted_count),
      retries: n(r.retry_attempt_count),
    },
    manifestComplete: Boolean(r.manifest_complete),
    manifestTotalRows: r.manifest_total_rows == null ? null : n(r.manifest_total_rows),
    manifestProcessedRows: n(r.manifest_processed_rows),
    nextManifestSeq: n(r.next_manifest_seq),
    resumeAttemptCount: n(r.resume_attempt_count),
    rollbackStatus: r.rollback_status as RunRow["rollbackStatus"],
    rollbackRestoredCount: n(r.rollback_restored_count),
    rollbackDeletedCount: n(r.rollback_deleted_count),
    errorMessage: (r.error_message as string | null) ?? null,
    rebuildStage: (r.rebuild_stage as string | null) ?? null,
  };
}

/**
 * Under a held lease: resumes the job's open run (queued -> started; running ->
 * resume_attempt_count + 1) or creates a new running one. The open-run index
 * guarantees there is at most one candidate.
 */
export async function startOrResumeRun(
  db: Db,
  opts: { jobId: string; trigger: RunTrigger; owner: string },
): Promise<{ run: RunRow; resumed: boolean }> {
  const resumed = await db.query<Record<string, unknown>>(
    `update typesense_sync_runs
        set resume_attempt_count = resume_attempt_count + (case when status = 'running' then 1 else 0 end),
            status = 'running', owner = $2, started_at = coalesce(started_at, now()), updated_at = now()
      where job_id = $1 and status in ('queued', 'running')
      returning ${RUN_COLUMNS}, (resume_attempt_count > 0 or stage <> 'queued') as was_started`,
    [opts.jobId, opts.owner],
  );
  const open = resumed.rows[0];
  if (open) return { run: toRun(open), resumed: Boolean(open.was_started) };
  const created = await db.query<Record<string, unknown>>(
    `insert into typesense_sync_runs (job_id, trigger, status, stage, owner, started_at)
     values ($1, $2, 'running', 'queued', $3, now())
     returning ${RUN_COLUMNS}`,
    [opts.jobId, opts.trigger, opts.owner],
  );
  return { run: toRun(created.rows[0]!), resumed: false };
}

export async function loadRun(db: Db, runId: string): Promise<RunRow | null> {
  const r = await db.query<Record<string, unknown>>(
    `select ${RUN_COLUMNS} from typesense_sync_runs where id = $1`,
    [runId],
  );
  return r.rows[0] ? toRun(r.rows[0]) : null;
}

export async function setStage(
  db: Db,
  runId: string,
  stage: RunStage,
  message: string | null,
): Promise<void> {
  await db.query(
    `update typesense_sync_runs set stage = $2, stage_message = $3, updated_at = now() where id = $1`,
    [runId, stage, message],
  );
}

/** Counters only (orphan sweep, rollback bookkeeping). */
export async function writeCounters(db: Db, runId: string, c: RunCounters): Promise<void> {
  await db.query(
    `update typesense_sync_runs
        set imported_count = $2, unchanged_count = $3, failed_count = $4, deleted_count = $5,
            retry_attempt_count = $6, updated_at = now()
      where id = $1`,
    [runId, c.imported, c.unchanged, c.failed, c.deleted, c.retries],
  );
}

export interface FinishOptions {
  runId: string;
  jobId: string;
  leaseToken: string;
  status: "succeeded" | "failed";
  error: string | null;
  counters: RunCounters;
  sourceRowCount: number | null;
  /**
   * A failed run that found the live collection not matching the table
   * (fullsync/collection.ts SchemaMismatchFailure): a rebuild with this cause
   * is queued in the close's transaction, right after the run closed (one
   * open run per job), so the failure and its way out commit together.
   */
  queueRebuild?: RebuildCause;
}

/**
 * Closes the run and writes the job's freshness fields + releases the lease in
 * ONE transaction, fenced by the lease token: a run that lost its lease cannot
 * close (the new holder resumes it instead).
 *
 * last_synced_at moves only on success (it is the "fresh as of" time);
 * next_sync_at = now + interval either way, so a failing job is retried at its
 * normal cadence instead of in a tight loop.
 */
export async function finishRun(client: pg.PoolClient, f: FinishOptions): Promise<boolean> {
  const c = f.counters;
  return inClientTransaction(client, async (client) => {
    const job = await client.query(
      `update typesense_sync_jobs
            set last_synced_at = case when $3 = 'succeeded' then now() else last_synced_at end,
                next_sync_at = now() + make_interval(secs => sync_interval_seconds),
                last_sync_status = $3, last_sync_error = $4,
                last_source_row_count = coalesce($5, last_source_row_count),
                last_imported_count = $6, last_failed_count = $7,
                lease_owner = null, lease_token = null, lease_expires_at = null, updated_at = now()
          where id = $1 and lease_token = $2`,
      [f.jobId, f.leaseToken, f.status, f.error, f.sourceRowCount, c.imported, c.failed],
    );
    // lease lost: nothing was written, so the (empty) transaction commits as a no-op
    if ((job.rowCount ?? 0) === 0) return false;
    await client.query(
      `update typesense_sync_runs
            set status = $2, stage = 'finished', error_message = $3, finished_at = now(),
                source_row_count = coalesce($4, source_row_count),
                imported_count = $5, unchanged_count = $6, failed_count = $7, deleted_count = $8,
                retry_attempt_count = $9, updated_at = now(),
                stage_message = case when $2 = 'succeeded' then 'done' else stage_message end
          where id = $1`,
      [
        f.runId,
        f.status,
        f.error,
        f.sourceRowCount,
        c.imported,
        c.unchanged,
        c.failed,
        c.deleted,
        c.retries,
      ],
    );
    // A finished run never reads its manifest again (only a resumed one
    // does): its partition goes with the finish, so the control DB does not
    // keep every run's ids. Dropping a partition locks the parent table for
    // the rest of this short transaction.
    const part = await client.query<{ p: string | null }>(
      "select typesense_sync_manifest_partition($1)::text as p",
      [f.runId],
    );
    const name = part.rows[0]?.p;
    if (name) await client.query(`drop table ${name}`);
    // the scheduler's poll picks the queued rebuild up (an open run is due at once)
    if (f.queueRebuild) await insertQueuedRun(client, f.jobId, "rebuild", f.queueRebuild);
    return true;
  });
}

/**
 * Closes a rebuild run (trigger `rebuild`) with its final rebuild step, and
 * releases the job's lease; false when the lease was lost (nothing written).
 * A failed rebuild leaves the job's sync status and freshness alone: it
 * failed before its swap, so the live version serves as it was
 * (docs/full-sync.md "Rebuilds") and the job's health does not change. A
 * succeeded one was a full sync of the version now live: the job is fresh
 * as of now, like after a succeeded finishRun. The building version is
 * cleared with it (the swap or the discard already did).
 */
export async function finishRebuildRun(
  client: pg.PoolClient,
  f: {
    runId: string;
    jobId: string;
    leaseToken: string;
    status: "succeeded" | "failed";
    error: string | null;
    rebuildStage: string;
  },
): Promise<boolean> {
  return inClientTransaction(client, async (client) => {
    const job = await client.query(
      `update typesense_sync_jobs
          set building_version = null,
              last_synced_at = case when $3 then now() else last_synced_at end,
              next_sync_at = case when $3 then now() + make_interval(secs => sync_interval_seconds)
                                  else next_sync_at end,
              last_sync_status = case when $3 then 'succeeded' else last_sync_status end,
              last_sync_error = case when $3 then null else last_sync_error end,
              lease_owner = null, lease_token = null, lease_expires_at = null, updated_at = now()
        where id = $1 and lease_token = $2`,
      [f.jobId, f.leaseToken, f.status === "succeeded"],
    );
    if ((job.rowCount ?? 0) === 0) return false;
    await client.query(
      `update typesense_sync_runs
          set status = $2, stage = 'finished', rebuild_stage = $3, error_message = $4,
              finished_at = now(), updated_at = now()
        where id = $1 and trigger = 'rebuild'`,
      [f.runId, f.status, f.rebuildStage, f.error],
    );
    // the build's manifest is never read again (as in finishRun)
    const part = await client.query<{ p: string | null }>(
      "select typesense_sync_manifest_partition($1)::text as p",
      [f.runId],
    );
    if (part.rows[0]?.p) await client.query(`drop table ${part.rows[0].p}`);
    return true;
  });
}

/** Marks the job as being synced (status view shows "running"; cleared by finishRun). */
export async function markJobRunning(db: Db, jobId: string, leaseToken: string): Promise<void> {
  await db.query(
    `update typesense_sync_jobs set last_sync_status = 'running', updated_at = now()
      where id = $1 and lease_token = $2`,
    [jobId, leaseToken],
  );
}

/** A run's manifest row count as text (null until the manifest is built); the CLI's progress bar. */
export async function runManifestTotal(db: Db, runId: string): Promise<string | null> {
  const r = await db.query<{ n: string | null }>(
    "select manifest_total_rows::text as n from typesense_sync_runs where id = $1",
    [runId],
  );
  return r.rows[0]?.n ?? null;
}

/*
 * The API's reads of runs (control/runs.ts) and the run requests' writes
 * (coordination/request-run.ts, retarget.ts): rows in the API's snake_case
 * shape.
 */

/**
 * processed / total with the total's kind (seed 000): only `exact` totals are
 * strict denominators; an `estimated` total may be lower than processed, so
 * percent is capped at 100 and null when the total is unknown.
 */
export interface RunProgress {
  processed_rows: number;
  total_rows: number | null;
  total_kind: "exact" | "estimated" | "unknown";
  percent: number | null;
}

/**
 * A rebuild run's progress as the API, the status view and the console show
 * it (null for other runs): its step, why it runs, the versions it goes from
 * (null: a plain wave-1 collection) and to, until when the previous version
 * is kept, and during `build` the windows of its full sync done / total
 * (`windows_total` counts the manifest's rows in windows of the job's
 * window_size; estimated until the manifest is complete, as `progress`).
 */
export interface RebuildProgress {
  stage: string;
  reason: RebuildReasonKind;
  reason_detail: string | null;
  from_version: number | null;
  to_version: number;
  windows_done: number;
  windows_total: number | null;
  swapped_at: Date | null;
  keep_until: Date | null;
}

/** The rebuild columns of a run (sql/013, sql/017), by the names `prefix` gives them. */
export function rebuildProgressOf(
  row: Record<string, unknown>,
  prefix: string,
  windowSize: number,
): RebuildProgress | null {
  const col = (c: string) => row[`${prefix}${c}`];
  const stage = col("rebuild_stage");
  if (typeof stage !== "string") return null;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const processed = num(col("manifest_processed_rows")) ?? 0;
  const total = col("progress_total_kind") === "unknown" ? null : num(col("manifest_total_rows"));
  const ws = Math.max(1, windowSize);
  return {
    stage,
    reason: (col("rebuild_reason") as RebuildReasonKind | null) ?? "manual",
    reason_detail: (col("rebuild_reason_detail") as string | null) ?? null,
    from_version: num(col("rebuild_from_version")),
    to_version: num(col("rebuild_to_version")) ?? 1,
    windows_done: Math.ceil(processed / ws),
    windows_total:
      total === null ? null : Math.max(Math.ceil(total / ws), Math.ceil(processed / ws)),
    swapped_at: (col("rebuild_swapped_at") as Date | null) ?? null,
    keep_until: (col("rebuild_keep_until") as Date | null) ?? null,
  };
}

/** A run row as the API returns it (every column, int8 as numbers) plus derived progress objects. */
export type RunRecord = Record<string, unknown> & {
  id: string;
  job_id: string;
  status: string;
  progress: RunProgress;
  /** A rebuild run's step and progress; null for other runs. */
  rebuild: RebuildProgress | null;
};

const RUN_NUMS = [
  "source_row_count",
  "imported_count",
  "unchanged_count",
  "failed_count",
  "deleted_count",
  "manifest_total_rows",
  "manifest_processed_rows",
  "next_manifest_seq",
  "rollback_restored_count",
  "rollback_deleted_count",
];

/** The job's window_size next to a run row (the rebuild's windows total); dropped from the answer. */
const RUN_SELECT = `select r.*, (select j.window_size from typesense_sync_jobs j where j.id = r.job_id)
                          as job_window_size
                     from typesense_sync_runs r`;

function toRunRecord(row: Record<string, unknown>): RunRecord {
  const { job_window_size: ws, ...rest } = row;
  const rebuild = rebuildProgressOf(rest, "", Number(ws ?? 1));
  const r = withNumbers(rest, RUN_NUMS);
  const processed = (r.manifest_processed_rows as number | null) ?? 0;
  const total = (r.manifest_total_rows as number | null) ?? null;
  const kind = r.progress_total_kind as RunProgress["total_kind"];
  const percent =
    kind === "unknown" || total === null
      ? null
      : total === 0
        ? 100
        : Math.min(100, Math.round((processed / total) * 1000) / 10);
  return {
    ...(r as RunRecord),
    progress: { processed_rows: processed, total_rows: total, total_kind: kind, percent },
    rebuild,
  };
}

/** Runs in the scope, newest first, optionally of one job (a uuid) and/or status. */
export async function selectRuns(
  db: Db,
  f: {
    scope: ClientScope;
    jobId: string | null;
    status: string | null;
    limit: number;
    offset: number;
  },
): Promise<RunRecord[]> {
  const r = await db.query(
    `${RUN_SELECT}
      where ($1::uuid is null or r.job_id = $1) and ($2::text is null or r.status = $2)
        and ${jobInScope("r.job_id", 5)}
      order by r.created_at desc, r.id
      limit $3 offset $4`,
    [f.jobId, f.status, f.limit, f.offset, f.scope],
  );
  return r.rows.map(toRunRecord);
}

/** One run (id a uuid) whose job is in the scope, or null. */
export async function selectRun(db: Db, id: string, scope: ClientScope): Promise<RunRecord | null> {
  const r = await db.query(`${RUN_SELECT} where r.id = $1 and ${jobInScope("r.job_id", 2)}`, [
    id,
    scope,
  ]);
  return r.rows[0] ? toRunRecord(r.rows[0]) : null;
}

/**
 * The job's open (queued or running) run, at most one (typesense_sync_runs_
 * one_open_idx). afterJoin: it never started, or first started at or after
 * the job's CDC join marker (false when there is no marker).
 */
export async function selectOpenRun(
  db: Db,
  jobId: string,
): Promise<{ id: string; stage: string; trigger: RunTrigger; afterJoin: boolean } | undefined> {
  const open = await db.query<{
    id: string;
    stage: string;
    trigger: RunTrigger;
    after_join: boolean | null;
  }>(
    `select r.id, r.stage, r.trigger,
            (r.started_at is null or r.started_at >= j.cdc_resync_requested_at) as after_join
       from typesense_sync_runs r join typesense_sync_jobs j on j.id = r.job_id
      where r.job_id = $1 and r.status in ('queued', 'running')`,
    [jobId],
  );
  const o = open.rows[0];
  return o && { id: o.id, stage: o.stage, trigger: o.trigger, afterJoin: o.after_join === true };
}

/** Why a rebuild was queued (typesense_sync_runs.rebuild_reason, sql/017). */
export type RebuildReasonKind = "manual" | "spec_change" | "schema_mismatch" | "slot_lost";

/** A rebuild's reason and what made it necessary, in words (rebuild_reason_detail). */
export interface RebuildCause {
  reason: RebuildReasonKind;
  detail?: string | null;
}

/**
 * Inserts a new queued run; its id. A second open run of the job fails with
 * the unique violation (23505) of typesense_sync_runs_one_open_idx. A rebuild
 * records why it was queued (`cause`; "manual" when none is given).
 */
export async function insertQueuedRun(
  db: Db,
  jobId: string,
  trigger: RunTrigger,
  cause?: RebuildCause,
): Promise<string> {
  // a rebuild starts in its `create` step and records the versions it goes
  // from (null: a plain wave-1 collection) and to (sql/013; rebuild-stage.ts)
  const rebuild = trigger === "rebuild" ? (cause ?? { reason: "manual" }) : null;
  const ins = await db.query<{ id: string }>(
    `insert into typesense_sync_runs (job_id, trigger, status, stage, trigger_reason,
                                      rebuild_stage, rebuild_from_version, rebuild_to_version,
                                      rebuild_reason, rebuild_reason_detail)
     select j.id, $2, 'queued', 'queued', $5::text,
            case when $2 = 'rebuild' then 'create' end,
            case when $2 = 'rebuild' then j.live_version end,
            case when $2 = 'rebuild' then coalesce(j.live_version, 0) + 1 end,
            $3, $4
       from typesense_sync_jobs j where j.id = $1
     returning id`,
    // sql/014 trigger_reason: why the run was started when no person asked
    // (a lost replication slot), kept as wip/rebuild-cdc writes it
    [
      jobId,
      trigger,
      rebuild?.reason ?? null,
      rebuild?.detail ?? null,
      rebuild?.reason === "slot_lost" ? (rebuild.detail ?? null) : null,
    ],
  );
  const row = ins.rows[0];
  if (!row) throw new Error(`sync job ${jobId} not found: no run queued`);
  return row.id;
}

/**
 * Records a rebuild run's step (typesense_sync_runs.rebuild_stage;
 * fullsync/rebuild-stage.ts decides it); `reason` (entering discard) is kept
 * as the run's error_message, so a resumed discard closes with it.
 */
export async function setRebuildStage(
  db: Db,
  runId: string,
  stage: string,
  reason: string | null = null,
): Promise<void> {
  await db.query(
    `update typesense_sync_runs
        set rebuild_stage = $2, error_message = coalesce($3, error_message), updated_at = now()
      where id = $1 and trigger = 'rebuild'`,
    [runId, stage, reason],
  );
}

/** Closes one run `cancelled` (stage finished) with the reason as its error_message. */
export async function cancelRun(db: Db, runId: string, reason: string): Promise<void> {
  await db.query(
    `update typesense_sync_runs
        set status = 'cancelled', stage = 'finished', finished_at = now(), updated_at = now(),
            error_message = $2
      where id = $1`,
    [runId, reason],
  );
}

/** Closes the job's open (queued or running) runs `cancelled`, as cancelRun does. */
export async function cancelOpenRuns(db: Db, jobId: string, reason: string): Promise<void> {
  await db.query(
    `update typesense_sync_runs
        set status = 'cancelled', stage = 'finished', finished_at = now(), updated_at = now(),
            error_message = $2
      where job_id = $1 and status in ('queued', 'running')`,
    [jobId, reason],
  );
}
