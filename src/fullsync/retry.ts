import { backoffDelay, sleepUnlessAborted } from "../lifecycle/index.js";

/** A retryable Typesense error outlived import_max_attempts. */
export class RetriesExhaustedError extends Error {
  override readonly name = "RetriesExhaustedError";
  constructor(what: string, attempts: number, cause: unknown) {
    super(`${what} failed after ${attempts} attempt(s): ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
  }
}

/** Network errors, timeouts, 5xx and 503 "Not Ready or Lagging" (typesense/ classifies). */
export function isRetryable(e: unknown): boolean {
  return (e as { retryable?: unknown } | null)?.retryable === true;
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
 * Runs `fn` with the import retry policy: only retryable errors are retried; a
 * 4xx (or any non-retryable error) is thrown at once; the last retryable error
 * is wrapped in RetriesExhaustedError, which fails (and compensates) the run.
 */
export async function withImportRetry<T>(
  policy: RetryPolicy,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  const maxAttempts = Math.max(1, policy.maxAttempts);
  for (let n = 1; ; n++) {
    try {
      return await fn();
    } catch (e) {
      if (!isRetryable(e)) throw e;
      if (n >= maxAttempts) throw new RetriesExhaustedError(what, n, e);
      const delayMs = backoffDelay(n, {
        baseMs: policy.baseMs,
        maxMs: 60_000,
        jitter: 0.5,
        random: policy.random,
      });
      policy.onRetry({ what, attempt: n, delayMs, error: e });
      if (!(await sleepUnlessAborted(delayMs, policy.signal))) throw policy.signal.reason;
    }
  }
}
