import type pg from "pg";
import { ServiceError } from "../../errors/service-error.js";

/**
 * The job lease: who may run a job's full sync right now.
 *
 *   free (owner null | expired) --claim--> held(token) --renew--> held(token)
 *        ^                                    |    \
 *        +------------- release --------------+     +-- expires (owner died) --> free
 *
 * One `UPDATE ... WHERE lease free or expired RETURNING` decides who wins: Postgres
 * row locking serialises two claimers, the second re-checks the WHERE clause
 * against the winner's row and updates nothing. Every later write of the run is
 * fenced by the token (renew, checkpoint, finish), so an instance that stalled
 * past its expiry and lost the lease cannot overwrite the new holder's progress.
 */
export interface Lease {
  jobId: string;
  owner: string;
  token: string;
  expiresAt: Date;
}

/** The lease was taken over (we stalled past its expiry) or released by someone else. */
export class LeaseLostError extends ServiceError {
  override readonly name = "LeaseLostError";
  constructor(readonly jobId: string) {
    super(
      "LEASE_LOST",
      `lease on sync job ${jobId} was lost (expired and taken over); stopping this run`,
    );
  }
}

/** Claims the job's lease; null when another live holder has it (or the job does not exist). */
export async function claimLease(
  db: pg.Pool | pg.PoolClient,
  opts: { jobId: string; owner: string; ttlMs: number },
): Promise<Lease | null> {
  const r = await db.query<{ lease_token: string; lease_expires_at: Date }>(
    `update typesense_sync_jobs
        set lease_owner = $2, lease_token = gen_random_uuid(),
            lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
      where id = $1 and (lease_expires_at is null or lease_expires_at <= now())
      returning lease_token, lease_expires_at`,
    [opts.jobId, opts.owner, opts.ttlMs],
  );
  const row = r.rows[0];
  if (!row) return null;
  return {
    jobId: opts.jobId,
    owner: opts.owner,
    token: row.lease_token,
    expiresAt: row.lease_expires_at,
  };
}

/**
 * Extends the lease by ttlMs from now. Throws LeaseLostError when the token no
 * longer matches. Usable inside a transaction (the checkpoint fences with it).
 */
export async function renewLease(
  db: pg.Pool | pg.PoolClient,
  lease: Lease,
  ttlMs: number,
): Promise<void> {
  const r = await db.query<{ lease_expires_at: Date }>(
    `update typesense_sync_jobs
        set lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
      where id = $1 and lease_token = $2
      returning lease_expires_at`,
    [lease.jobId, lease.token, ttlMs],
  );
  const row = r.rows[0];
  if (!row) throw new LeaseLostError(lease.jobId);
  lease.expiresAt = row.lease_expires_at;
}

/** Frees the lease if we still hold it (a lost lease is left to its new holder). */
export async function releaseLease(db: pg.Pool | pg.PoolClient, lease: Lease): Promise<boolean> {
  const r = await db.query(
    `update typesense_sync_jobs set lease_owner = null, lease_token = null, lease_expires_at = null
      where id = $1 and lease_token = $2`,
    [lease.jobId, lease.token],
  );
  return (r.rowCount ?? 0) > 0;
}

export interface LeaseKeeper {
  /** Aborts when a renewal finds the lease lost (reason: LeaseLostError). */
  readonly lost: AbortSignal;
  stop(): void;
}

/**
 * Renews the lease every ttl/3 in the background so a long window (retries,
 * a big manifest COPY) does not let it expire. A failed renewal because of a
 * database error is retried at the next tick; only a token mismatch aborts.
 */
export function keepLease(
  pool: pg.Pool,
  lease: Lease,
  opts: { ttlMs: number; onError?: (err: unknown) => void },
): LeaseKeeper {
  const ctl = new AbortController();
  let busy = false;
  const timer = setInterval(
    () => {
      if (busy || ctl.signal.aborted) return;
      busy = true;
      renewLease(pool, lease, opts.ttlMs)
        .catch((err: unknown) => {
          if (err instanceof LeaseLostError) ctl.abort(err);
          else opts.onError?.(err);
        })
        .finally(() => {
          busy = false;
        });
    },
    Math.max(200, Math.floor(opts.ttlMs / 3)),
  );
  timer.unref();
  return {
    lost: ctl.signal,
    stop: () => clearInterval(timer),
  };
}
