// Warnings rate-limited per source (an address, a connection): a burst, then a steady rate; the
// rest go to the debug level, and the next warning says how many were held back (`suppressed`).

import type { Logger } from "../log.ts";
import { type RateLimit, RateLimiter } from "./rate_limit.ts";

/** Sources whose held-back count is kept at most; past it the counts start over. */
const HELD_BACK_KEPT = 10_000;

/** A warning that one noisy source cannot repeat into the log at will. */
export interface ThrottledWarning {
  /**
   * Logs `event` with `fields` for `source`: at `level` (a warning unless told) while its rate
   * allows, else at debug.
   */
  warn(
    source: string,
    fields: Record<string, unknown>,
    now: number,
    level?: "warn" | "info",
  ): void;
  /** Forgets sources quiet long enough to have their whole burst again. */
  prune(now: number): void;
}

/**
 * A warning `event` limited to `limit` lines per source.
 *
 * @example
 * ```ts
 * import { throttledWarning } from "./log_throttle.ts";
 * const quiet = { debug() {}, info() {}, warn() {}, error() {} };
 * const refused = throttledWarning(quiet, "login_refused", { burst: 10, perSecond: 1 / 6 });
 * refused.warn("192.0.2.1", { reason: "wrong_password" }, Date.now());
 * ```
 */
export function throttledWarning(log: Logger, event: string, limit: RateLimit): ThrottledWarning {
  const lines = new RateLimiter(limit);
  const heldBack = new Map<string, number>();
  return {
    warn(source, fields, now, level = "warn") {
      if (lines.take(source, now) > 0) {
        if (heldBack.size >= HELD_BACK_KEPT) heldBack.clear();
        heldBack.set(source, (heldBack.get(source) ?? 0) + 1);
        log.debug(event, fields);
        return;
      }
      const held = heldBack.get(source);
      heldBack.delete(source);
      log[level](event, held === undefined ? fields : { ...fields, suppressed: held });
    },
    prune: (now) => lines.prune(now),
  };
}
