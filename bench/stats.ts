// Order statistics for benchmark figures: median, nearest-rank percentiles, and a run summary.
// Pure functions over plain number arrays; inputs are never modified.

/** A figure over several runs: the median with the spread around it. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/**
 * The median: the middle value, or the mean of the two middle values for an even count.
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("Cannot take the median: no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The nearest-rank percentile `p` (0 < p ≤ 100) of values sorted ascending: the smallest value
 * with at least p % of the values at or below it.
 *
 * @example
 * ```ts
 * import { percentileSorted } from "./stats.ts";
 * percentileSorted([10, 20, 30, 40], 50); // 20
 * ```
 */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("Cannot take a percentile: no values");
  if (!(p > 0 && p <= 100)) {
    throw new RangeError(`Cannot take percentile ${p}: must be in (0, 100]`);
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Latency-style summary of many samples: count, p50, p99 and max. */
export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Sorts a copy of the samples once and reads p50, p99 and the maximum from it.
 *
 * @example
 * ```ts
 * import { percentiles } from "./stats.ts";
 * percentiles([5, 1, 3]); // { count: 3, p50: 3, p99: 5, max: 5 }
 * ```
 */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  return {
    count: list.length,
    p50: percentileSorted(list, 50),
    p99: percentileSorted(list, 99),
    max: list[list.length - 1],
  };
}

/**
 * The median of several runs with their minimum and maximum.
 *
 * @example
 * ```ts
 * import { spread } from "./stats.ts";
 * spread([120, 100, 110]); // { median: 110, min: 100, max: 120 }
 * ```
 */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("Cannot summarize runs: no values");
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}
