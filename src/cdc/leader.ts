import { createHash } from "node:crypto";
import type pg from "pg";
import { linkedAbort } from "../lifecycle/abort.js";
import { sleepUnlessAborted } from "../lifecycle/backoff.js";
import type { Logger } from "../lifecycle/logger.js";
import { errorMessage } from "./errors.js";

/** First key of every CDC advisory lock ("ATSC"): keeps clear of other users' locks. */
export const LEADER_LOCK_CLASS = 0x41545343;

/** Second advisory-lock key of a source client: 32 bits of sha256(name), signed. */
export function leaderLockKey(clientName: string): number {
  return createHash("sha256").update(`cdc:${clientName}`).digest().readInt32BE(0);
}

export interface LeadershipOptions {
  /** Control DB pool; one of its connections is held for as long as we lead. */
  control: pg.Pool;
  clientName: string;
  log: Logger;
  /** How often a standby tries to take over, ms. Default 2000. */
  standbyPollMs?: number;
  /** How often the leader checks that its lock connection is alive, ms. Default 2000. */
  checkMs?: number;
}

/**
 * Runs `lead(signal)` only while this instance holds the source client's
 * session-level advisory lock in the control DB; other instances stand by and
 * retry every standbyPollMs. The lock lives as long as its connection: a
 * killed leader's lock goes with its session, and a standby takes over at its
 * next try. If the lock connection fails, `lead`'s signal aborts at once
 * (someone else may hold the lock already), and we go back to standing by.
 *
 *   standby --try_lock ok--> leading --connection lost / lead() returned--> standby
 *      ^  \--busy: sleep--/      \--outer abort--> unlock, release --> done
 */
export async function runWhileLeader(
  opts: LeadershipOptions,
  signal: AbortSignal,
  lead: (signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const key = leaderLockKey(opts.clientName);
  const log = opts.log.child({ component: "cdc-leader", client: opts.clientName });
  let announcedStandby = false;
  while (!signal.aborted) {
    let client: pg.PoolClient | null = null;
    try {
      client = await opts.control.connect();
      const c = client;
      let broken: Error | null = null;
      const onError = (e: Error) => {
        broken = e;
      };
      c.on("error", onError);
      const r = await c.query<{ ok: boolean }>("select pg_try_advisory_lock($1, $2) as ok", [
        LEADER_LOCK_CLASS,
        key,
      ]);
      if (!r.rows[0]?.ok) {
        c.off("error", onError);
        c.release();
        client = null;
        if (!announcedStandby) log.info("another instance leads this source client; standing by");
        announcedStandby = true;
        await sleepUnlessAborted(opts.standbyPollMs ?? 2000, signal);
        continue;
      }
      announcedStandby = false;
      log.info("leading the CDC stream of this source client");
      // (also aborted at once when the stop came while the lock was taken)
      const { ctl, unlink } = linkedAbort(signal);
      const timer = setInterval(() => {
        if (broken) return ctl.abort();
        c.query("select 1").catch((e: Error) => {
          broken = e;
          ctl.abort();
        });
      }, opts.checkMs ?? 2000);
      try {
        await lead(ctl.signal);
      } finally {
        clearInterval(timer);
        unlink();
      }
      if (broken) throw broken;
      await c.query("select pg_advisory_unlock($1, $2)", [LEADER_LOCK_CLASS, key]);
      c.off("error", onError);
      c.release();
      client = null;
      if (!signal.aborted) {
        // lead() ended by itself (no jobs left): let someone else try first
        await sleepUnlessAborted(opts.standbyPollMs ?? 2000, signal);
      }
    } catch (e) {
      log.warn({ err: { message: errorMessage(e) } }, "leadership lost or not obtainable");
      // destroy the connection: its session (and any lock it held) ends with it
      client?.release(e instanceof Error ? e : new Error(String(e)));
      client = null;
      await sleepUnlessAborted(opts.standbyPollMs ?? 2000, signal);
    }
  }
}
