/**
 * Token buckets, one per search key (its parent: every scoped key minted from
 * one parent shares the parent's bucket, so minting more keys buys no rate).
 * A bucket holds up to `burst` tokens and refills at `perSecond`; a request
 * takes one. In memory, per instance: N instances allow N times the rate
 * (docs/gateway.md).
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface RateLimiter {
  /** 0 when the request may go, else the seconds until a token is back (Retry-After). */
  take(key: string, limit: RateLimit): number;
}

const MAX_BUCKETS = 10_000;

export function createRateLimiter(now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, limit) {
      const t = now();
      let b = buckets.get(key);
      if (!b) {
        // bounded: at the cap the oldest bucket goes (it refills to full anyway when idle)
        if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value as string);
        b = { tokens: limit.burst, at: t };
        buckets.set(key, b);
      }
      b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.perSecond);
      b.at = t;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
    },
  };
}
