import type pg from "pg";
import type { Db } from "../transaction.js";

/** A fan-out to queue: the roots `routePath` names for `keys` (sql/012). */
export interface FanoutRequest {
  jobId: string;
  routePath: string;
  keys: (string | null)[][];
}

/** A queued fan-out and how far its pages got. */
export interface QueuedFanout extends FanoutRequest {
  id: string;
  afterRootId: string | null;
}

/**
 * Queues fan-outs inside the checkpoint's transaction (cdc-checkpoint.ts), so
 * the LSN that covers their changes is durable only together with them.
 */
export async function queueFanouts(db: Db, fanouts: readonly FanoutRequest[]): Promise<void> {
  if (fanouts.length === 0) return;
  await db.query(
    `insert into typesense_cdc_fanouts (job_id, route_path, keys)
     select f.job_id, f.route_path, f.keys::jsonb
       from unnest($1::uuid[], $2::text[], $3::text[]) as f(job_id, route_path, keys)`,
    [
      fanouts.map((f) => f.jobId),
      fanouts.map((f) => f.routePath),
      fanouts.map((f) => JSON.stringify(f.keys)),
    ],
  );
}

/** The oldest queued fan-outs of these jobs, in queue order. */
export async function nextFanouts(
  control: pg.Pool,
  jobIds: readonly string[],
  limit: number,
): Promise<QueuedFanout[]> {
  if (jobIds.length === 0) return [];
  const r = await control.query<{
    id: string;
    job_id: string;
    route_path: string;
    keys: (string | null)[][];
    after_root_id: string | null;
  }>(
    `select id::text as id, job_id, route_path, keys, after_root_id from typesense_cdc_fanouts
      where job_id = any($1::uuid[]) order by id limit $2`,
    [jobIds, limit],
  );
  return r.rows.map((x) => ({
    id: x.id,
    jobId: x.job_id,
    routePath: x.route_path,
    keys: x.keys,
    afterRootId: x.after_root_id,
  }));
}

/** A page of the fan-out was written: the next starts after `rootId`. */
export async function advanceFanout(control: pg.Pool, id: string, rootId: string): Promise<void> {
  await control.query(
    "update typesense_cdc_fanouts set after_root_id = $2, updated_at = now() where id = $1::bigint",
    [id, rootId],
  );
}

/** Every page was written (or the route is gone): the fan-out leaves the queue. */
export async function finishFanout(control: pg.Pool, id: string): Promise<void> {
  await control.query("delete from typesense_cdc_fanouts where id = $1::bigint", [id]);
}

/** Fan-outs still queued per job (status and tests). */
export async function queuedFanoutCount(control: pg.Pool, jobId: string): Promise<number> {
  const r = await control.query<{ n: number }>(
    "select count(*)::int as n from typesense_cdc_fanouts where job_id = $1",
    [jobId],
  );
  return r.rows[0]!.n;
}
