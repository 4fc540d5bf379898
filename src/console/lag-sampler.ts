import type pg from "pg";
import { listCdcStreams } from "../control/cdc-streams.js";
import { UNSCOPED } from "../control/client-scope.js";

/** One reading of one stream. */
export interface LagSample {
  /** ms since epoch */
  t: number;
  /** commit -> Typesense confirmed, ms (null before the first applied commit) */
  lagMs: number | null;
  /** changes applied per second since the previous sample (null for the first) */
  perSecond: number | null;
  retainedWalBytes: number | null;
}

export interface LagSampler {
  /** Samples now unless the latest sample is younger than minGapMs; then returns the rings. */
  read(): Promise<Map<string, LagSample[]>>;
}

export interface LagSamplerOptions {
  /** How long samples are kept. Default one hour. */
  windowMs?: number;
  /** Background sampling period while the console is in use. Default 15 s. */
  everyMs?: number;
  /** A page view samples again only after this long. Default 1 s. */
  minGapMs?: number;
  now?: () => number;
}

/**
 * A small in-memory ring per CDC stream, for the console's last-hour plot.
 * The readings are the ones the streams already persist in
 * typesense_cdc_streams (lag_ms, changes_applied, retained_wal_bytes), so the
 * plot also covers streams led by another instance. Throughput is the
 * difference of the changes_applied counter between two samples.
 *
 * Sampling starts with the first console page that reads it and then runs
 * every `everyMs` on an unref'd timer (it never keeps the process alive);
 * after a quiet hour without readers it stops until the next page view.
 */
export function createLagSampler(control: pg.Pool, opts: LagSamplerOptions = {}): LagSampler {
  const windowMs = opts.windowMs ?? 60 * 60 * 1000;
  const everyMs = opts.everyMs ?? 15_000;
  const minGapMs = opts.minGapMs ?? 1_000;
  const now = opts.now ?? Date.now;
  const rings = new Map<string, LagSample[]>();
  const counters = new Map<string, { t: number; applied: number }>();
  let last = 0;
  let lastRead = 0;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> | undefined;

  async function sample(): Promise<void> {
    const t = now();
    last = t;
    // every stream: the status page shows only the rings of streams its API call listed
    const streams = await listCdcStreams(control, UNSCOPED);
    for (const s of streams) {
      const prev = counters.get(s.source_client_name);
      const applied = Number(s.changes_applied ?? 0);
      const dt = prev ? (t - prev.t) / 1000 : 0;
      const perSecond =
        prev && dt > 0 && applied >= prev.applied ? (applied - prev.applied) / dt : null;
      counters.set(s.source_client_name, { t, applied });
      const ring = rings.get(s.source_client_name) ?? [];
      ring.push({
        t,
        lagMs: s.lag_ms,
        perSecond,
        retainedWalBytes: s.retained_wal_bytes,
      });
      while (ring.length > 0 && ring[0]!.t < t - windowMs) ring.shift();
      rings.set(s.source_client_name, ring);
    }
  }

  function safeSample(): Promise<void> {
    inflight ??= sample()
      .catch(() => {
        // control DB briefly unavailable: a gap in the plot, nothing else
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  function ensureTimer(): void {
    if (timer) return;
    timer = setInterval(() => {
      if (now() - lastRead > windowMs) {
        clearInterval(timer);
        timer = undefined;
        return;
      }
      void safeSample();
    }, everyMs);
    timer.unref();
  }

  return {
    async read() {
      lastRead = now();
      ensureTimer();
      if (now() - last >= minGapMs) await safeSample();
      return rings;
    },
  };
}
