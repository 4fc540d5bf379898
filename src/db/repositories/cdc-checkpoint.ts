import type pg from "pg";
import type { Document } from "../../typesense/types.js";
import { formatLsn, type Lsn } from "../lsn.js";
import { inTransaction } from "../transaction.js";
import { type FanoutRequest, queueFanouts } from "./cdc-fanouts.js";
import { invalidateWritten } from "./doc-hashes.js";

/*
 * The CDC checkpoint (the hot path of the stream): what one flush made
 * durable in Typesense, persisted in one control-DB transaction. Order of the
 * stream (stream-session.ts checkpoint): (1) write to Typesense -> (2) persist
 * this checkpoint -> (3) acknowledge the slot up to its LSN. The types live
 * here, below cdc/ (which re-exports them: applier-types.ts, writer.ts), so
 * db/ never imports cdc/.
 */

/** Sample keys kept per unkeyed dead letter (row-failures.ts folds rows into one). */
export const MAX_SAMPLE_KEYS = 5;

/** A document Typesense rejected for good (a 4xx import line). */
export interface Rejection {
  jobId: string;
  docId: string;
  operation: "upsert" | "update" | "delete";
  payload: Document | null;
  code: number | null;
  error: string;
  /** Rows without a document id folded into this one letter (row-failures.ts), and samples. */
  count?: number;
  sampleKeys?: string[];
}

/** What one flush made durable in Typesense, to be persisted before the acknowledgement. */
export interface Checkpoint {
  /** New durable LSN (end of the last fully written transaction), or null if it did not move. */
  lsn: Lsn | null;
  /** Commit time (ms) of the transaction ending at `lsn`. */
  commitTimeMs: number;
  /** lag: Typesense confirmation time minus commit time, ms (NaN if unknown). */
  lagMs: number;
  /** Commit time of the OLDEST transaction this checkpoint covers (its lag is the largest). */
  oldestCommitTimeMs: number;
  /** Documents written or deleted. */
  applied: number;
  rejections: Rejection[];
  /** Ids written per job (closes their open dead letters). */
  written: Map<string, string[]>;
  /** Fan-outs of spec jobs to queue with this checkpoint (cdc-fanouts.ts); none when absent. */
  fanouts?: FanoutRequest[];
}

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
    // Content hashes (doc-hashes.ts): the claims on every doc this flush
    // wrote, deleted or had rejected go in the transaction that records the
    // write (write -> this commit -> ack), so a re-sync compares them again.
    await invalidateWritten(client, cdcTouched(c));
    // queued before the LSN that covers their changes moves (same transaction)
    await queueFanouts(client, c.fanouts ?? []);
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

/** JSON with bigint values written as numbers (int64 document fields). */
function serialize(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

/** The ids per job a flush wrote, deleted or had rejected (their claims go). */
function cdcTouched(c: Checkpoint): Map<string, string[]> {
  const touched = new Map<string, string[]>();
  for (const [jobId, ids] of c.written) touched.set(jobId, [...ids]);
  for (const r of c.rejections) {
    if (r.docId === "") continue;
    const list = touched.get(r.jobId) ?? [];
    list.push(r.docId);
    touched.set(r.jobId, list);
  }
  return touched;
}
