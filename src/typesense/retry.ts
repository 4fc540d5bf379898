import { backoffDelay, sleepUnlessAborted } from "../lifecycle/backoff.js";
import { isRetryable } from "./errors.js";

export interface RetryOptions {
  /** Total attempts including the first (>= 1): import_max_attempts. */
  maxAttempts: number;
  /** Delay before retry n is baseMs * 2^(n-1), jittered: import_retry_base_ms. */
  baseMs: number;
  /** Cap for a single delay. Default 30 s. */
  maxMs?: number;
  /** Fraction of each delay randomised (0..1). Default 0.2. */
  jitter?: number;
  /** Aborting stops waiting and rethrows the abort reason; no further attempt starts. */
  signal?: AbortSignal;
  /** Called before each wait: `attempt` is the attempt that failed (1-based). */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
  /** Which errors to retry. Default: TypesenseError with retryable = true. */
  retryIf?: (err: unknown) => boolean;
  /** Injectable randomness for the jitter. */
  random?: () => number;
}

/**
 * Runs `fn` until it succeeds, throws a non-retryable error, or maxAttempts
 * attempts have failed; then the last error is rethrown unchanged (so the
 * caller can tell a rejected request from an exhausted budget by `retryable`).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  const retryIf = opts.retryIf ?? isRetryable;
  const max = Math.max(1, Math.floor(opts.maxAttempts));
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= max || !retryIf(err) || opts.signal?.aborted) throw err;
      const delayMs = backoffDelay(attempt, {
        baseMs: opts.baseMs,
        maxMs: opts.maxMs ?? 30_000,
        jitter: opts.jitter ?? 0.2,
        random: opts.random,
      });
      opts.onRetry?.(attempt, err, delayMs);
      if (!(await sleepUnlessAborted(delayMs, opts.signal))) opts.signal?.throwIfAborted();
    }
  }
}
