// Token buckets per key: a burst allowance refilled at a steady rate. Pure state, no I/O.
// Used for the per-account flood limit on commands and the per-address limit on new connections.

/** A bucket's shape: how many at once, and how many per second after that. */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

interface Bucket {
  tokens: number;
  last: number;
}

/** A bucket idle this long is full again and is forgotten. */
const FORGET_AFTER_MS = 10 * 60_000;

/** Token buckets by key. A limit with `perSecond` 0 disables limiting. */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(readonly limit: RateLimit) {}

  /** Takes one token; returns 0 when allowed, else the milliseconds until a token is available. */
  take(key: string, now: number): number {
    const { burst, perSecond } = this.limit;
    if (perSecond <= 0) return 0;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: burst, last: now };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.last) * perSecond) / 1000);
      bucket.last = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / perSecond);
  }

  /** Forgets buckets that have been idle long enough to be full. */
  prune(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (now - bucket.last > FORGET_AFTER_MS) this.#buckets.delete(key);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }
}
