// The one retry back-off of chatz: exponential with full jitter, as std's `retry` computes it.
// Used by the client's re-dials and reconnects and by the benchmark's clients, which mirror them.

/** The exponential part: the first wait's ceiling and the largest ceiling. */
export interface BackoffOptions {
  /** Ceiling of the first attempt's wait, in milliseconds. */
  firstMs: number;
  /** The ceiling stops doubling here, in milliseconds. */
  maxMs: number;
}

/**
 * How long to wait before retry number `attempt` (1 for the first): a uniformly random time
 * between 0 and `min(maxMs, firstMs * 2 ** (attempt - 1))` ("full jitter"). Spreading the waits
 * over the whole window keeps clients that lost a server together from re-dialling together, the
 * reconnect storm that doubling alone turns into synchronized waves.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 * const waitMs = backoffDelay(3, { firstMs: 250, maxMs: 15_000 }); // between 0 and 1000
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  return random() * backoffCeiling(attempt, options);
}

/** The window `backoffDelay` draws from for retry number `attempt`: doubling, capped. */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  // Past 2**52 the doubling no longer changes anything; clamping keeps Infinity out.
  const doublings = Math.min(Math.max(0, attempt - 1), 52);
  return Math.min(options.maxMs, options.firstMs * 2 ** doublings);
}
