import type pg from "pg";
import { inTransaction } from "../db/transaction.js";
import type { Checkpoint } from "./applier.js";
import { formatLsn, type Lsn } from "./lsn.js";
import { MAX_SAMPLE_KEYS } from "./row-failures.js";
import type { Rejection } from "./writer.js";

/** typesense_cdc_streams.status */
export type StreamStatus = "starting" | "streaming" | "backoff" | "stopped" | "error" | "lost";

/**
 * Persists a checkpoint in ONE control-DB transaction: dead letters first,
 * then (when the LSN moved) the jobs' cdc_applied_lsn and the stream's
 * confirmed_lsn. Only after this commits may the stream acknowledge `lsn`
 * to the server; a crash before the commit re-sends the changes, and the
 * rejected documents are rejected (and recorded) again.
 */
export async function persistCheckpoint(
  control: pg.Pool,
  clientName: string,
  jobIds: readonly string[],
  c: Checkpoint,
): Promise<void> {
  await inTransaction(control, async (client) => {
    const keyed = c.rejections.filter((r) => r.docId !== "");
    await recordUnkeyedFailures(
      client,
      c.rejections.filter((r) => r.docId === ""),
    );
    if (keyed.length > 0) await recordKeyedRejections(client, keyed);
    await resolveWrittenLetters(client, c.written);
    if (c.lsn !== null) {
      const lsn = formatLsn(c.lsn);
      // Never from null: null means "not (yet) a member with this shape" (setup's
      // markStreamJobs marks members; a retarget clears it so the NEXT setup joins
      // the job and resyncs it). A session still running with the old shape must
      // not undo that. Never a parked job either: it left the stream, and its null
      // cdc_applied_lsn is what makes it rejoin with a resync.
      await client.query(
        `update typesense_sync_jobs set cdc_applied_lsn = $2::pg_lsn, cdc_applied_at = now()
            where id = any($1::uuid[]) and cdc_parked_at is null
              and cdc_applied_lsn < $2::pg_lsn`,
        [jobIds, lsn],
      );
    }
    await client.query(
      `update typesense_cdc_streams
            set confirmed_lsn = case when $2::pg_lsn is null then confirmed_lsn
                                     else greatest(confirmed_lsn, $2::pg_lsn) end,
                changes_applied = changes_applied + $3,
                last_commit_at = coalesce($4::timestamptz, last_commit_at),
                lag_ms = coalesce($5::bigint, lag_ms),
                updated_at = now()
          where source_client_name = $1`,
      [
        clientName,
        c.lsn === null ? null : formatLsn(c.lsn),
        c.applied,
        c.lsn !== null && Number.isFinite(c.commitTimeMs) ? new Date(c.commitTimeMs) : null,
        c.lsn !== null && Number.isFinite(c.lagMs) ? Math.max(0, Math.round(c.lagMs)) : null,
      ],
    );
  });
}

/** Dead letters of rejected documents: one open letter per (job, doc), attempts counted. */
async function recordKeyedRejections(
  client: pg.PoolClient,
  keyed: readonly Checkpoint["rejections"][number][],
): Promise<void> {
  // one row per (job, doc): ON CONFLICT cannot touch a row twice in one statement
  const byKey = new Map(keyed.map((r) => [`${r.jobId}\u0000${r.docId}`, r]));
  const list = [...byKey.values()];
  await client.query(
    `insert into typesense_dead_letters
         (job_id, origin, doc_id, operation, payload, error_code, error_message)
       select d.job_id, 'cdc', d.doc_id, d.op, d.payload::jsonb, d.code, d.error
         from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[])
                as d(job_id, doc_id, op, payload, code, error)
       on conflict (job_id, doc_id) where status = 'open' and doc_id is not null
       do update set attempts = typesense_dead_letters.attempts + 1, last_failed_at = now(),
                     origin = excluded.origin, operation = excluded.operation,
                     payload = excluded.payload, error_code = excluded.error_code,
                     error_message = excluded.error_message, run_id = null`,
    [
      list.map((r) => r.jobId),
      list.map((r) => r.docId),
      list.map((r) => r.operation),
      list.map((r) => (r.payload === null ? null : serialize(r.payload))),
      list.map((r) => r.code),
      list.map((r) => r.error),
    ],
  );
}

/** A document that was written now closes its open dead letter. */
async function resolveWrittenLetters(
  client: pg.PoolClient,
  written: Checkpoint["written"],
): Promise<void> {
  // Resolving probes every written id: skipped for jobs without an open
  // letter (the common case), found with one indexed query.
  const wrote = [...written].filter(([, ids]) => ids.length > 0).map(([j]) => j);
  const withOpen =
    wrote.length === 0
      ? new Set<string>()
      : new Set(
          (
            await client.query<{ job_id: string }>(
              `select distinct job_id::text from typesense_dead_letters
                  where job_id = any($1::uuid[]) and status = 'open'`,
              [wrote],
            )
          ).rows.map((r) => r.job_id),
        );
  for (const [jobId, ids] of written) {
    if (ids.length === 0 || !withOpen.has(jobId)) continue;
    // a document that was written now closes its open dead letter
    await client.query(
      `update typesense_dead_letters set status = 'resolved', resolved_at = now()
          where job_id = $1 and status = 'open' and doc_id = any($2::text[])`,
      [jobId, ids],
    );
  }
}

/**
 * Rows without a document id (row-failures.ts): ONE open letter per job and
 * error kind, doc_id null, payload {count, sample_keys}. A kind seen again
 * adds to the open letter's count (and attempts) instead of a new row.
 */
async function recordUnkeyedFailures(client: pg.PoolClient, list: readonly Rejection[]) {
  if (list.length === 0) return;
  const byKind = new Map<string, { r: Rejection; count: number; samples: string[] }>();
  for (const r of list) {
    const k = `${r.jobId}\u0000${r.error}`;
    const agg = byKind.get(k) ?? { r, count: 0, samples: [] };
    agg.count += r.count ?? 1;
    for (const x of r.sampleKeys ?? [])
      if (agg.samples.length < MAX_SAMPLE_KEYS) agg.samples.push(x);
    byKind.set(k, agg);
  }
  const rows = [...byKind.values()];
  await client.query(
    `with d as (
       select * from unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[])
         as d(job_id, op, error, n, samples)
     ), upd as (
       update typesense_dead_letters t
          set attempts = t.attempts + 1, last_failed_at = now(),
              payload = jsonb_build_object(
                'count', coalesce((t.payload->>'count')::bigint, 1) + d.n,
                'sample_keys', coalesce(t.payload->'sample_keys', '[]'::jsonb))
         from d
        where t.job_id = d.job_id and t.origin = 'cdc' and t.status = 'open'
          and t.doc_id is null and t.error_message = d.error
       returning t.job_id, t.error_message
     )
     insert into typesense_dead_letters (job_id, origin, doc_id, operation, payload, error_message)
     select d.job_id, 'cdc', null, d.op,
            jsonb_build_object('count', d.n, 'sample_keys', d.samples::jsonb), d.error
       from d
      where not exists (select 1 from upd u where u.job_id = d.job_id and u.error_message = d.error)`,
    [
      rows.map((x) => x.r.jobId),
      rows.map((x) => x.r.operation),
      rows.map((x) => x.r.error),
      rows.map((x) => x.count),
      rows.map((x) => JSON.stringify(x.samples)),
    ],
  );
}

/**
 * Parks a job, in ONE transaction, BEFORE the stream checkpoints anything past
 * its failed changes (applier.ts #parkOrThrow):
 *   - cdc_parked_at / cdc_parked_error: the job leaves the stream (loadCdcJobs)
 *     and its status names the error;
 *   - cdc_resync_requested_at = now(): the durable need of a full resync;
 *   - cdc_applied_lsn = null: when it is unparked, the stream's setup sees it
 *     joining, sets the marker again (after its table is back in the
 *     publication) and requests the watermarked join resync. Changes the slot
 *     moves past meanwhile are read again by that resync: nothing is lost, and
 *     the resync's windows are bracketed, so nothing older than the source is
 *     written.
 */
export async function parkJob(
  control: pg.Pool,
  clientName: string,
  jobId: string,
  error: string,
): Promise<void> {
  await inTransaction(control, async (client) => {
    await client.query(
      `update typesense_sync_jobs
          set cdc_parked_at = now(), cdc_parked_error = $2, cdc_resync_requested_at = now(),
              cdc_applied_lsn = null, cdc_applied_at = null, updated_at = now()
        where id = $1`,
      [jobId, error],
    );
    await client.query(
      `update typesense_cdc_streams set last_error = $2, last_error_at = now(), updated_at = now()
        where source_client_name = $1`,
      [clientName, `job ${jobId} parked: ${error}`],
    );
  });
}

/**
 * After a probe: success unparks the job (it joins the stream at its next
 * setup, with its resync); failure keeps it parked with the latest error.
 */
export async function recordProbe(
  control: pg.Pool,
  jobId: string,
  error: string | null,
): Promise<void> {
  await control.query(
    error === null
      ? `update typesense_sync_jobs set cdc_parked_at = null, cdc_parked_error = null,
                updated_at = now()
          where id = $1 and cdc_parked_at is not null`
      : `update typesense_sync_jobs set cdc_parked_error = $2
          where id = $1 and cdc_parked_at is not null`,
    error === null ? [jobId] : [jobId, error],
  );
}

/** JSON with bigint values written as numbers (int64 document fields). */
function serialize(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

export interface StreamRowUpdate {
  status?: StreamStatus;
  /** Sets last_error/last_error_at; null clears nothing (errors stay visible until the next one). */
  error?: string;
  lagMs?: number | null;
  retainedWalBytes?: number | null;
  lastMessageAt?: Date | null;
  leaderInstance?: string | null;
}

/** Updates the observability fields of a stream row (and the leader heartbeat). */
export async function updateStreamRow(
  control: pg.Pool,
  clientName: string,
  u: StreamRowUpdate,
): Promise<void> {
  await control.query(
    `update typesense_cdc_streams
        set status = coalesce($2, status),
            status_changed_at = case when $2::text is distinct from status and $2::text is not null
                                     then now() else status_changed_at end,
            last_error = coalesce($3, last_error),
            last_error_at = case when $3::text is null then last_error_at else now() end,
            lag_ms = case when $4::boolean then $5::bigint else lag_ms end,
            retained_wal_bytes = case when $6::boolean then $7::bigint else retained_wal_bytes end,
            last_message_at = coalesce($8::timestamptz, last_message_at),
            leader_instance = coalesce($9, leader_instance),
            leader_heartbeat_at = case when $9::text is null then leader_heartbeat_at else now() end,
            updated_at = now()
      where source_client_name = $1`,
    [
      clientName,
      u.status ?? null,
      u.error ?? null,
      u.lagMs !== undefined,
      u.lagMs === undefined || u.lagMs === null ? null : Math.max(0, Math.round(u.lagMs)),
      u.retainedWalBytes !== undefined,
      u.retainedWalBytes ?? null,
      u.lastMessageAt ?? null,
      u.leaderInstance ?? null,
    ],
  );
}

/**
 * Marks which jobs belong to the stream: jobs that joined get
 * cdc_applied_lsn = the stream's start (so they are not resynced again at the
 * next start); jobs of this client that left (disabled, cdc off, rejected)
 * get null, so that rejoining later triggers a resync for the gap.
 */
export async function markStreamJobs(
  control: pg.Pool,
  clientName: string,
  joinedIds: readonly string[],
  memberIds: readonly string[],
  startLsn: Lsn,
): Promise<void> {
  await control.query(
    `update typesense_sync_jobs set cdc_applied_lsn = $2::pg_lsn, cdc_applied_at = now()
      where id = any($1::uuid[]) and cdc_applied_lsn is null`,
    [joinedIds, formatLsn(startLsn)],
  );
  await control.query(
    `update typesense_sync_jobs set cdc_applied_lsn = null, cdc_applied_at = null
      where source_client_name = $1 and not (id = any($2::uuid[])) and cdc_applied_lsn is not null`,
    [clientName, memberIds],
  );
}

/** Bytes of WAL the slot holds back (restart_lsn to the current WAL end). */
export async function retainedWalBytes(source: pg.Pool, slotName: string): Promise<number | null> {
  const r = await source.query<{ b: string | null }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text as b
       from pg_replication_slots where slot_name = $1`,
    [slotName],
  );
  const b = r.rows[0]?.b;
  return b === null || b === undefined ? null : Number(b);
}

/**
 * Records a failed session (status + last_error), creating the stream's row if
 * setup failed before it existed (e.g. no free replication slot): a setup error
 * must be visible in typesense_cdc_streams even for a stream that never started.
 */
export async function recordStreamError(
  control: pg.Pool,
  s: {
    clientName: string;
    slotName: string;
    plugin: string;
    status: StreamStatus;
    error: string;
  },
): Promise<void> {
  await control.query(
    `insert into typesense_cdc_streams
       (source_client_name, slot_name, publication_name, plugin, status, last_error, last_error_at)
     values ($1, $2, $2, $3, $4, $5, now())
     on conflict (source_client_name) do update
       set status = excluded.status, last_error = excluded.last_error,
           status_changed_at = case when excluded.status is distinct from typesense_cdc_streams.status
                                    then now() else typesense_cdc_streams.status_changed_at end,
           last_error_at = now(), updated_at = now()`,
    [s.clientName, s.slotName, s.plugin, s.status, s.error],
  );
}
