import type pg from "pg";
import { type StreamHealthRow, selectStreamHealth } from "../db/repositories/cdc-streams.js";

/** A stream whose leader heartbeat (every 2 s) is older than this has no live leader. */
export const LEADER_HEARTBEAT_STALE_MS = 15_000;

export interface CdcStreamReadiness {
  ready: boolean;
  /** Why (shown with the admin key only). */
  state: string;
}

/**
 * Readiness of the CDC stream of every configured source client that has an
 * enabled, cdc_enabled job, from typesense_cdc_streams (cluster-wide: every
 * instance answers the same, a standby included):
 * - no stream row, or `stopped`               -> not ready (not attached)
 * - `starting` of a stream that never confirmed an LSN -> not ready (not attached yet)
 * - `streaming` with a leader heartbeat older than 15 s -> not ready (no live leader)
 * - `starting` (re-setup), `backoff`, `error`, `lost` -> ready for
 *   `maxUnhealthyMs` after the status changed (status_changed_at, sql/009),
 *   not ready after: a stream re-sets itself up when its jobs change, and a
 *   short backoff must not take every instance out of service at once.
 */
export async function cdcReadiness(
  control: pg.Pool,
  opts: { clients: readonly string[]; maxUnhealthyMs: number },
): Promise<Record<string, CdcStreamReadiness>> {
  const rows = await selectStreamHealth(control, opts.clients);
  const out: Record<string, CdcStreamReadiness> = {};
  for (const row of rows) out[row.client] = judge(row, opts.maxUnhealthyMs);
  return out;
}

function judge(s: StreamHealthRow, maxUnhealthyMs: number): CdcStreamReadiness {
  const secs = (ms: number | null) => `${Math.round((ms ?? 0) / 1000)} s`;
  if (s.status === null || s.status === "stopped") {
    return { ready: false, state: `not attached (${s.status ?? "no stream yet"})` };
  }
  if (s.status === "streaming") {
    const hb = s.heartbeat_age_ms;
    if (hb === null || hb > LEADER_HEARTBEAT_STALE_MS) {
      return { ready: false, state: `streaming, but no live leader (heartbeat ${secs(hb)} old)` };
    }
    return { ready: true, state: "streaming" };
  }
  if (s.status === "starting" && !s.attached_once) {
    return { ready: false, state: "not attached yet (starting)" };
  }
  const age = s.status_age_ms ?? 0;
  return age > maxUnhealthyMs
    ? { ready: false, state: `${s.status} for ${secs(age)}` }
    : {
        ready: true,
        state: `${s.status} for ${secs(age)} (tolerated up to ${secs(maxUnhealthyMs)})`,
      };
}
