// Duplicate suppression of client message ids: what each recent send with a cid was stored as.
// Two generations of hash tables in typed arrays: constant time, and nothing for the collector.

import type { Sent } from "../../protocol/plugin.ts";

/**
 * Slots per generation for `window` ids: a power of two at least 2.5 times the window, so linear
 * probing stays short (load at most 0.4).
 */
function slotsFor(window: number): number {
  let slots = 1024;
  while (slots < window * 2.5) slots *= 2;
  return slots;
}

/** MurmurHash3's 32-bit finalizer. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** One generation: open addressing over a 64-bit hash of the key, with the send's id and time. */
class Generation {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly ids: Float64Array;
  readonly ts: Float64Array;
  size = 0;

  constructor(readonly slots: number) {
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots); // 0 marks an empty slot: a key's lo is never 0
    this.ids = new Float64Array(slots);
    this.ts = new Float64Array(slots);
  }

  /** The slot holding the hash, or the empty slot where it would go. */
  find(hi: number, lo: number): number {
    const mask = this.slots - 1;
    let slot = (hi ^ lo) & mask;
    while (this.lo[slot] !== 0 && (this.lo[slot] !== lo || this.hi[slot] !== hi)) {
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  clear(): void {
    this.lo.fill(0);
    this.size = 0;
  }
}

/**
 * The client message ids of recent sends, by key, with what each send returned.
 *
 * Window: a re-send is recognised when fewer than `window` other sends with an id were remembered
 * since its original; it may be recognised for up to `2 × window` of them. Ids go into the current
 * generation; when it holds `window` ids it becomes the previous one and the old previous generation
 * is emptied and reused. Evicting the oldest key of one Map walked V8's deleted entries on every
 * insert (the server went from 98k to 18k msgs/s); a Map per generation kept every key string and
 * result object on the heap, where the collector marked them over and over. Here a key is kept as a
 * 64-bit hash (two FNV-1a lanes) in typed arrays: two different keys share a hash with odds of
 * about 2⁻⁶⁴ per pair, far below those of a machine fault, and the arrays are never traced.
 *
 * @example
 * ```ts
 * import { RecentSends } from "./recent_sends.ts";
 * const recent = new RecentSends(2);
 * recent.remember("alice\u00000:c1", { id: 1, ts: 1_700_000_000_000 });
 * recent.get("alice\u00000:c1"); // { id: 1, ts: 1700000000000 }
 * ```
 */
export class RecentSends {
  #current: Generation;
  #previous: Generation;
  #hi = 0;
  #lo = 0;

  /** Remembers at least the last `window` ids; `window` is at least 1. */
  constructor(readonly window: number) {
    if (!(window >= 1)) throw new RangeError(`Cannot keep recent sends: window ${window} < 1`);
    this.#current = new Generation(slotsFor(window));
    this.#previous = new Generation(slotsFor(window));
  }

  /** What the send with this key returned, while it is within the window. */
  get(key: string): Sent | undefined {
    this.#hash(key);
    return this.#read(this.#current) ?? this.#read(this.#previous);
  }

  /** Remembers a send; the oldest generation goes when the current one is full. */
  remember(key: string, sent: Sent): void {
    if (this.#current.size >= this.window) {
      const emptied = this.#previous;
      emptied.clear();
      this.#previous = this.#current;
      this.#current = emptied;
    }
    this.#hash(key);
    const generation = this.#current;
    const slot = generation.find(this.#hi, this.#lo);
    if (generation.lo[slot] === 0) generation.size++;
    generation.hi[slot] = this.#hi;
    generation.lo[slot] = this.#lo;
    generation.ids[slot] = sent.id;
    // The sign carries `queued`: a time is never negative.
    generation.ts[slot] = sent.queued ? -sent.ts : sent.ts;
  }

  /** How many ids are remembered now: between `window` and `2 × window` once that many were seen. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /** Forgets everything, for a commit that failed after sends were remembered. */
  clear(): void {
    this.#current.clear();
    this.#previous.clear();
  }

  #read(generation: Generation): Sent | undefined {
    const slot = generation.find(this.#hi, this.#lo);
    if (generation.lo[slot] === 0) return undefined;
    const ts = generation.ts[slot];
    const sent: Sent = { id: generation.ids[slot], ts: Math.abs(ts) };
    if (ts < 0) sent.queued = true;
    return sent;
  }

  /**
   * Two 32-bit FNV-1a lanes over the key's UTF-16 units, with different offsets and primes, each
   * finished with MurmurHash3's mixer so every bit of the key reaches every bit of the hash.
   */
  #hash(key: string): void {
    let a = 0x811c9dc5;
    let b = 0x050c5d1f;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ (c + 0x9e37), 0x01000197);
    }
    this.#hi = mix(a ^ key.length);
    this.#lo = mix(b) || 1;
  }
}
