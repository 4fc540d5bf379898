import { pgCode } from "../../errors/service-error.js";
import type { Db } from "../transaction.js";

/*
 * Drift audits (sql/019; fullsync/audit.ts, docs/audit.md). An audit row walks
 * queued (on demand) -> running (claimed by one instance, renewed per window)
 * -> succeeded | failed. The partial unique index allows one open (queued or
 * running) audit per job: a second request is a conflict, never a second
 * audit racing the first one's repair.
 */

export type AuditTrigger = "schedule" | "manual";

/** A job's audit settings (typesense_sync_jobs, sql/019). */
export interface AuditSettings {
  /** null or 0: no scheduled audit. */
  intervalSeconds: number | null;
  /** The fraction of documents whose contents are compared; null: automatic. */
  sample: number | null;
  repair: boolean;
}

/** What one audit found and did (the columns of a finished audit). */
export interface AuditResult {
  sample: number;
  repair: boolean;
  sourceCount: number;
  typesenseCount: number;
  comparedCount: number;
  missing: { count: number; ids: string[] };
  extra: { count: number; ids: string[] };
  differing: { count: number; ids: string[] };
  repaired: { missing: number; extra: number; differing: number };
  superseded: number;
  repairSkipped: string | null;
}

/** An audit claimed for running. */
export interface ClaimedAudit {
  id: string;
  jobId: string;
  trigger: AuditTrigger;
}

export async function loadAuditSettings(db: Db, jobId: string): Promise<AuditSettings | null> {
  const r = await db.query<{ i: number | null; s: number | null; r: boolean }>(
    `select audit_interval_seconds as i, audit_sample as s, audit_repair as r
       from typesense_sync_jobs where id = $1`,
    [jobId],
  );
  const row = r.rows[0];
  return row ? { intervalSeconds: row.i, sample: row.s, repair: row.r } : null;
}

/**
 * Queues an audit of `jobId`. null: the job has an open audit (conflict);
 * "missing": no such job. An open audit whose instance's claim expired is
 * failed first (its instance stopped), so it blocks no new request.
 */
export async function requestAudit(
  db: Db,
  jobId: string,
  trigger: AuditTrigger,
): Promise<string | null | "missing"> {
  await failExpiredAudits(db);
  try {
    const r = await db.query<{ id: string }>(
      `insert into typesense_sync_audits (job_id, trigger) values ($1, $2) returning id`,
      [jobId, trigger],
    );
    return r.rows[0]!.id;
  } catch (e) {
    if (pgCode(e) === "23505") return null;
    if (pgCode(e) === "23503") return "missing";
    throw e;
  }
}

/** Running audits whose instance stopped renewing them: failed (their repair writes were idempotent). */
export async function failExpiredAudits(db: Db): Promise<void> {
  await db.query(
    `update typesense_sync_audits
        set status = 'failed', error = 'the instance running the audit stopped', finished_at = now()
      where status = 'running' and expires_at < now()`,
  );
}

/**
 * Claims one audit to run on this instance: a queued one first (oldest),
 * else one scheduled audit of a due job (enabled, synced at least once,
 * audit_interval_seconds > 0, made and last audited at least that long ago, no open
 * audit), inserted as running, unless `scheduled` is false (requested ones
 * only). `exclude`: jobs this instance must not audit now. null: nothing to do.
 */
export async function claimAudit(
  db: Db,
  f: { owner: string; ttlMs: number; exclude: readonly string[]; scheduled?: boolean },
): Promise<ClaimedAudit | null> {
  await failExpiredAudits(db);
  const queued = await db.query<{ id: string; job_id: string; trigger: AuditTrigger }>(
    `update typesense_sync_audits a
        set status = 'running', owner = $1, started_at = now(),
            expires_at = now() + $2 * interval '1 millisecond'
      where a.id = (select id from typesense_sync_audits
                     where status = 'queued' and not (job_id = any($3::uuid[]))
                     order by created_at limit 1 for update skip locked)
      returning a.id, a.job_id, a.trigger`,
    [f.owner, f.ttlMs, f.exclude],
  );
  const q = queued.rows[0];
  if (q) return { id: q.id, jobId: q.job_id, trigger: q.trigger };
  if (f.scheduled === false) return null;
  try {
    const due = await db.query<{ id: string; job_id: string }>(
      `insert into typesense_sync_audits (job_id, trigger, status, owner, started_at, expires_at)
       select j.id, 'schedule', 'running', $1, now(), now() + $2 * interval '1 millisecond'
         from typesense_sync_jobs j
        where j.enabled and j.audit_interval_seconds > 0 and j.last_synced_at is not null
          -- the first scheduled audit comes one interval after the job was made,
          -- not right after its first sync (which just compared every document)
          and j.created_at <= now() - j.audit_interval_seconds * interval '1 second'
          and not (j.id = any($3::uuid[]))
          and not exists (
            select 1 from typesense_sync_audits a
             where a.job_id = j.id
               and (a.status in ('queued', 'running')
                    or a.created_at > now() - j.audit_interval_seconds * interval '1 second'))
        order by j.id limit 1
       returning id, job_id`,
      [f.owner, f.ttlMs, f.exclude],
    );
    const d = due.rows[0];
    return d ? { id: d.id, jobId: d.job_id, trigger: "schedule" } : null;
  } catch (e) {
    // another instance claimed the same job's audit in between
    if (pgCode(e) === "23505") return null;
    throw e;
  }
}

/** Extends this instance's claim; false: it is no longer this instance's audit. */
export async function renewAudit(
  db: Db,
  id: string,
  owner: string,
  ttlMs: number,
): Promise<boolean> {
  const r = await db.query(
    `update typesense_sync_audits set expires_at = now() + $3 * interval '1 millisecond'
      where id = $1 and owner = $2 and status = 'running'`,
    [id, owner, ttlMs],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Records the audit's result (succeeded) or its error (failed). */
export async function finishAudit(
  db: Db,
  id: string,
  owner: string,
  outcome: { result: AuditResult } | { error: string },
): Promise<void> {
  if ("error" in outcome) {
    await db.query(
      `update typesense_sync_audits set status = 'failed', error = $3, finished_at = now()
        where id = $1 and owner = $2`,
      [id, owner, outcome.error.slice(0, 2000)],
    );
    return;
  }
  const x = outcome.result;
  await db.query(
    `update typesense_sync_audits
        set status = 'succeeded', finished_at = now(), sample = $3, repair = $4,
            source_count = $5, typesense_count = $6, compared_count = $7,
            missing_count = $8, missing_ids = $9, extra_count = $10, extra_ids = $11,
            differing_count = $12, differing_ids = $13, repaired_missing = $14,
            repaired_extra = $15, repaired_differing = $16, superseded_count = $17,
            repair_skipped = $18
      where id = $1 and owner = $2`,
    [
      id,
      owner,
      x.sample,
      x.repair,
      x.sourceCount,
      x.typesenseCount,
      x.comparedCount,
      x.missing.count,
      x.missing.ids,
      x.extra.count,
      x.extra.ids,
      x.differing.count,
      x.differing.ids,
      x.repaired.missing,
      x.repaired.extra,
      x.repaired.differing,
      x.superseded,
      x.repairSkipped,
    ],
  );
}

/** One audit row as the API shows it (snake_case columns). */
export type AuditRecord = Record<string, unknown> & { id: string; job_id: string; status: string };

export async function selectAudit(db: Db, id: string): Promise<AuditRecord | null> {
  const r = await db.query<AuditRecord>(`select * from typesense_sync_audits where id = $1`, [id]);
  return r.rows[0] ?? null;
}

/** The last finished audit of each job (of `jobIds`; null: every job): status, metrics. */
export async function selectLastAudits(
  db: Db,
  jobIds: readonly string[] | null = null,
): Promise<AuditRecord[]> {
  const r = await db.query<AuditRecord>(
    `select distinct on (job_id) * from typesense_sync_audits
      where status in ('succeeded', 'failed') and ($1::uuid[] is null or job_id = any($1::uuid[]))
      order by job_id, created_at desc`,
    [jobIds],
  );
  return r.rows;
}

/** The job's open (queued or running) audit, if any. */
export async function selectOpenAudit(db: Db, jobId: string): Promise<AuditRecord | null> {
  const r = await db.query<AuditRecord>(
    `select * from typesense_sync_audits where job_id = $1 and status in ('queued', 'running')`,
    [jobId],
  );
  return r.rows[0] ?? null;
}

/**
 * Gives a claimed audit back without running it (this instance may not audit
 * the job now, e.g. another instance leads its CDC stream): a requested one
 * is queued again for another instance, a scheduled one is forgotten (the
 * job stays due).
 */
export async function releaseAudit(db: Db, id: string, owner: string): Promise<void> {
  await db.query(
    `delete from typesense_sync_audits where id = $1 and owner = $2 and trigger = 'schedule'`,
    [id, owner],
  );
  await db.query(
    `update typesense_sync_audits
        set status = 'queued', owner = null, started_at = null, expires_at = null
      where id = $1 and owner = $2 and status = 'running'`,
    [id, owner],
  );
}
