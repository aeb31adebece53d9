// Slows down repeated failed logins, per login and per connection. Pure state, no I/O.
// After a few free failures each further one doubles the wait, up to a cap.

/** Failures allowed before any wait is imposed. */
const FREE_FAILURES = 3;
/** Wait after the first failure past the free ones. */
const BASE_DELAY_MS = 1000;
/** Longest wait imposed. */
const MAX_DELAY_MS = 60_000;
/** A key with no failure for this long is forgotten. */
const FORGET_AFTER_MS = 15 * 60_000;

interface Entry {
  failures: number;
  blockedUntil: number;
  last: number;
}

/** Failure counters by key (a login key, or a peer key). */
export class LoginThrottle {
  readonly #entries = new Map<string, Entry>();

  /** Milliseconds the key must still wait before trying again; 0 when it may try now. */
  waitFor(key: string, now: number): number {
    const entry = this.#entries.get(key);
    return entry ? Math.max(0, entry.blockedUntil - now) : 0;
  }

  /** Records a failure and returns the wait it imposes from now on. */
  fail(key: string, now: number): number {
    const entry = this.#entries.get(key) ?? { failures: 0, blockedUntil: 0, last: now };
    entry.failures++;
    entry.last = now;
    const over = entry.failures - FREE_FAILURES;
    const delay = over > 0 ? Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (over - 1)) : 0;
    entry.blockedUntil = now + delay;
    this.#entries.set(key, entry);
    return delay;
  }

  /** Forgets a key's failures after a successful login. */
  succeed(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops keys idle for long, so the table cannot grow without bound. */
  prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (now - entry.last > FORGET_AFTER_MS) this.#entries.delete(key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
