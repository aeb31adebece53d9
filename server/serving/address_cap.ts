// Open connections per network address: the gate admits a handshake only while its address holds
// fewer than `--connections-per-address`, so idle connections from one address cannot pile up.

/**
 * Admissions between two counts at most: bounds the memory of addresses admitted since the last
 * count and how far their counts may run ahead of connections that closed meanwhile.
 */
const RECOUNT_AFTER = 1000;
/**
 * Counts cost about 2 us per open descriptor, and full addresses can ask for one at every handshake:
 * after a count, the next waits at least this long and twenty times what that count took, so counting
 * takes at most a twentieth of the thread's time however many addresses knock.
 */
const MIN_RECOUNT_MS = 100;
const RECOUNT_COST_FACTOR = 20;

/** Decides whether a connection in its handshake may stay. */
export interface AddressCap {
  /**
   * Whether one more connection from `address` (accepted, in its handshake, so already among the
   * open ones a count sees) keeps the address within the limit. A refused one is about to close.
   */
  admit(address: string): boolean;
}

/** What the cap works with. */
export interface AddressCapOptions {
  /** Most open connections per address; 0: no limit. Read at each handshake (a reload changes it). */
  limit(): number;
  /** The open connections by address, counted now (transport/peer_sockets.ts), if they can be. */
  count(): Map<string, number> | undefined;
  /** Milliseconds, for the pause between counts (default `performance.now`). */
  now?: () => number;
}

/**
 * The cap. It counts the open connections only when an address looks full: admissions since the
 * last count are added to it, and connections that closed are seen by the next count, so the
 * figure it keeps is never below the truth. A refusal rests on a count at most MIN_RECOUNT_MS old
 * (longer when counting is slow): a place freed just before may be refused that long.
 *
 * @example
 * ```ts
 * import { createAddressCap } from "./address_cap.ts";
 * const open = new Map([["192.0.2.1", 2]]);
 * const cap = createAddressCap({ limit: () => 2, count: () => open });
 * cap.admit("192.0.2.1"); // false: with this one the address would hold 3
 * ```
 */
export function createAddressCap(options: AddressCapOptions): AddressCap {
  let known = new Map<string, number>();
  let admitted = 0;
  let lastLimit = 0;
  const now = options.now ?? (() => performance.now());
  /** When the next count may be taken, unless the kept figures are stale. */
  let nextCount = -Infinity;
  return {
    admit(address) {
      const limit = options.limit();
      if (limit !== lastLimit) {
        // Nothing was kept while there was no limit: the next admission counts afresh.
        lastLimit = limit;
        admitted = RECOUNT_AFTER;
      }
      if (limit <= 0) return true;
      const held = known.get(address) ?? 0;
      if (held < limit && admitted < RECOUNT_AFTER) {
        known.set(address, held + 1);
        admitted++;
        return true;
      }
      const stale = admitted >= RECOUNT_AFTER;
      const started = now();
      if (!stale && started < nextCount) return false; // full at a count a moment ago
      const counted = options.count();
      if (counted === undefined) return true; // cannot count: the other limits still apply
      const finished = now();
      nextCount = finished + Math.max(MIN_RECOUNT_MS, RECOUNT_COST_FACTOR * (finished - started));
      known = counted;
      admitted = 0;
      const open = counted.get(address) ?? 0; // this connection included
      if (open <= limit) return true;
      known.set(address, open - 1); // the refused one closes
      return false;
    },
  };
}
