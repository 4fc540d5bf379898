import { isRetryable, withRetry } from "../typesense/index.js";

/** A retryable Typesense error outlived import_max_attempts. */
export class RetriesExhaustedError extends Error {
  override readonly name = "RetriesExhaustedError";
  constructor(what: string, attempts: number, cause: unknown) {
    super(`${what} failed after ${attempts} attempt(s): ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
  }
}

export interface RetryPolicy {
  /** Attempts per call, the first included (typesense.import_max_attempts). */
  maxAttempts: number;
  /** Delay before retry n: base * 2^(n-1) with +-50% jitter (typesense.import_retry_base_ms). */
  baseMs: number;
  /** Stops the backoff sleep (the error becomes signal.reason). */
  signal: AbortSignal;
  random?: () => number;
  /** Called before each retry's sleep (the run counts retry_attempt_count here). */
  onRetry: (info: { what: string; attempt: number; delayMs: number; error: unknown }) => void;
}

/**
 * Runs `fn` with the import retry policy (typesense/'s withRetry): only
 * retryable errors (network, timeout, 5xx, 503 "Not Ready or Lagging", 429)
 * are retried; a 4xx is thrown at once; the last retryable error is wrapped in
 * RetriesExhaustedError, which fails (and compensates) the run.
 */
export async function withImportRetry<T>(
  policy: RetryPolicy,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  const maxAttempts = Math.max(1, policy.maxAttempts);
  try {
    return await withRetry(fn, {
      maxAttempts,
      baseMs: policy.baseMs,
      maxMs: 60_000,
      jitter: 0.5,
      signal: policy.signal,
      random: policy.random,
      onRetry: (attempt, error, delayMs) => policy.onRetry({ what, attempt, delayMs, error }),
    });
  } catch (e) {
    if (isRetryable(e) && !policy.signal.aborted) {
      throw new RetriesExhaustedError(what, maxAttempts, e);
    }
    throw e;
  }
}
