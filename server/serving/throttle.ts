// Slows down repeated failed logins, per key (a connection, an account, an address). Pure state,
// no I/O. After a few free failures each further one doubles the wait, up to a cap.

/** How a throttle counts: free failures, the first wait, the cap, and how failures are forgotten. */
export interface ThrottlePolicy {
  /** Failures allowed before any wait is imposed. */
  freeFailures: number;
  /** Wait after the first failure past the free ones; each further failure doubles it. */
  baseDelayMs: number;
  /** Longest wait imposed. */
  maxDelayMs: number;
  /** Each such quiet period (no failure) forgives one failure; 0: none is forgiven until forgotten. */
  decayMs: number;
  /** A key with no failure for this long is forgotten. */
  forgetAfterMs: number;
}

/**
 * Failures of one connection, of one account's `/passwd`, or of one account from one address: a
 * person mistypes now and then, a guesser does not stop. 3 free, then 1 s doubling to one minute.
 */
export const TARGET_POLICY: ThrottlePolicy = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  decayMs: 0,
  forgetAfterMs: 15 * 60_000,
};

/**
 * Failures of one network address, whatever it tries: the guesser's own back-off. 10 free, as one
 * address may be many people (an office or school behind one NAT, a carrier's shared address) who
 * each mistype now and then; then 1 s doubling to 5 minutes, so after its first minute an address
 * guesses about once per 5 minutes for as long as it goes on. Each 5 quiet minutes forgive one failure,
 * so people behind a shared address are soon let back in once the guessing stops.
 */
export const ADDRESS_POLICY: ThrottlePolicy = {
  freeFailures: 10,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  decayMs: 5 * 60_000,
  forgetAfterMs: 60 * 60_000,
};

interface Entry {
  failures: number;
  blockedUntil: number;
  last: number;
}

/** Failure counters by key. */
export class LoginThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly #policy: ThrottlePolicy;

  constructor(policy: ThrottlePolicy = TARGET_POLICY) {
    this.#policy = policy;
  }

  /** Milliseconds the key must still wait before trying again; 0 when it may try now. */
  waitFor(key: string, now: number): number {
    const entry = this.#entries.get(key);
    return entry ? Math.max(0, entry.blockedUntil - now) : 0;
  }

  /** Records a failure and returns the wait it imposes from now on. */
  fail(key: string, now: number): number {
    const { freeFailures, baseDelayMs, maxDelayMs, decayMs } = this.#policy;
    const entry = this.#entries.get(key) ?? { failures: 0, blockedUntil: 0, last: now };
    if (decayMs > 0) {
      entry.failures = Math.max(0, entry.failures - Math.floor((now - entry.last) / decayMs));
    }
    entry.failures++;
    entry.last = now;
    const over = entry.failures - freeFailures;
    const delay = over > 0 ? Math.min(maxDelayMs, baseDelayMs * 2 ** (over - 1)) : 0;
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
      if (now - entry.last > this.#policy.forgetAfterMs) this.#entries.delete(key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
