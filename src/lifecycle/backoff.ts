import { setTimeout as sleep } from "node:timers/promises";

export interface BackoffOptions {
  /** First delay in ms. */
  baseMs: number;
  /** Upper bound for a single delay in ms. */
  maxMs: number;
  /** Fraction of the delay randomised (0..1); "full jitter" is 1. */
  jitter?: number;
  /** Injectable randomness for tests. */
  random?: () => number;
}

/** Delay before attempt `attempt` (1-based retry count): base * 2^(attempt-1), capped, jittered. */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const raw = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  const j = opts.jitter ?? 0.2;
  const r = (opts.random ?? Math.random)();
  return Math.max(0, Math.round(raw * (1 - j + 2 * j * r)));
}

/** Sleeps `ms`, returning false (instead of throwing) when `signal` aborts first. */
export async function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
    return true;
  } catch {
    return false;
  }
}
