// Duplicate suppression of client message ids: what each recent send with a cid was stored as.
// Two generations of hash tables in typed arrays: constant time, and nothing for the collector.

import type { Sent } from "../../protocol/plugin.ts";
import { type ClientIdSplit, newClientIdSplit, splitClientId } from "./client_ids.ts";
import type { DuplicateIds } from "./shared_state.ts";

/**
 * Slots per generation for `window` ids: a power of two at least 2.5 times the window, so linear
 * probing stays short (load at most 0.4).
 */
function slotsFor(window: number): number {
  let slots = 1024;
  while (slots < window * 2.5) slots *= 2;
  return slots;
}

/**
 * Filter bits per generation for `window` ids: a power of two at least 10 per id. An id sets two
 * bits of one 32-bit word chosen by its hash, so an id a generation does not hold passes its filter
 * about 5 % of the time, and a check reads one word. At the server's window the filter is 128 KiB,
 * where the table is 6 MiB.
 */
function filterBitsFor(window: number): number {
  let bits = 1024;
  while (bits < window * 10) bits *= 2;
  return bits;
}

/** The two FNV-1a lanes of the hash being computed (one thread: no hash interleaves another). */
let laneA = 0;
let laneB = 0;

/** Feeds `text`'s UTF-16 units from `start` to `end` to both lanes, with different primes. */
function feed(text: string, start = 0, end = text.length): void {
  let a = laneA;
  let b = laneB;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ (c + 0x9e37), 0x01000197);
  }
  laneA = a;
  laneB = b;
}

/** A hash's two bits in its filter word (one word: one memory read per check). */
function filterBits(lo: number): number {
  return (1 << (lo & 31)) | (1 << ((lo >>> 5) & 31));
}

/** MurmurHash3's 32-bit finalizer. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Consecutive counters of one stem (a client's `3f9c1a7e-41`, `3f9c1a7e-42`, …) share a block of
 * this many slots, so a client's sends touch a few cache lines in turn instead of one random line
 * of a 6 MiB table each (issue #14 item 6, docs/REPORT.md 3.2); 16 slots are six cache lines.
 */
const BLOCK_BITS = 4;
const BLOCK = 1 << BLOCK_BITS;

/** Words per slot: the hash's two halves, then the id and the time as two 64-bit floats. */
const SLOT_WORDS = 6;

/**
 * One generation: open addressing over a 64-bit hash of the key, with the send's id and time next
 * to it in one buffer (a probe reads one cache line, not one per field), and a two-bit filter that,
 * once the generation is the previous one, answers most lookups of an id it does not hold without
 * touching its table.
 */
class Generation {
  /** Per slot: words 0 and 1 the hash (`lo` 0 marks an empty slot: a key's lo is never 0). */
  readonly words: Uint32Array;
  /** The same buffer: per slot, float 1 the id and float 2 the time. */
  readonly floats: Float64Array;
  readonly filter: Uint32Array;
  readonly slotMask: number;
  /** Word index mask of the filter. */
  readonly filterMask: number;
  size = 0;

  constructor(slots: number, filterBits: number) {
    const buffer = new ArrayBuffer(slots * SLOT_WORDS * 4);
    this.words = new Uint32Array(buffer);
    this.floats = new Float64Array(buffer);
    this.filter = new Uint32Array(filterBits / 32);
    this.slotMask = slots - 1;
    this.filterMask = filterBits / 32 - 1;
  }

  /** Whether the filter lets the hash through: false means the generation does not hold it. */
  mayHold(lo: number, home: number): boolean {
    const bits = filterBits(lo);
    return (this.filter[(home >>> BLOCK_BITS) & this.filterMask] & bits) === bits;
  }

  /**
   * The slot holding the hash, probing from its `home` by `step` (odd: the probe visits every slot,
   * and the table is never full), or the empty slot where it would go.
   */
  find(hi: number, lo: number, home: number, step: number): number {
    const words = this.words;
    let slot = home & this.slotMask;
    for (;;) {
      const at = slot * SLOT_WORDS;
      const slotLo = words[at + 1];
      if (slotLo === 0 || (slotLo === lo && words[at] === hi)) return slot;
      slot = (slot + step) & this.slotMask;
    }
  }

  /** Whether `slot` is empty or holds the hash: where a `find` for it may have stopped. */
  holdsOrFree(slot: number, hi: number, lo: number): boolean {
    const at = slot * SLOT_WORDS;
    const slotLo = this.words[at + 1];
    return slotLo === 0 || (slotLo === lo && this.words[at] === hi);
  }

  /** Stores the hash with its send in `slot` (from `find` with the same `home`). */
  put(slot: number, hi: number, lo: number, home: number, id: number, ts: number): void {
    const at = slot * SLOT_WORDS;
    if (this.words[at + 1] === 0) this.size++;
    this.words[at] = hi;
    this.words[at + 1] = lo;
    this.floats[slot * 3 + 1] = id;
    this.floats[slot * 3 + 2] = ts;
    this.filter[(home >>> BLOCK_BITS) & this.filterMask] |= filterBits(lo);
  }

  /** What the send in `slot` returned, or undefined for an empty slot. */
  read(slot: number): Sent | undefined {
    if (this.words[slot * SLOT_WORDS + 1] === 0) return undefined;
    const ts = this.floats[slot * 3 + 2];
    const sent: Sent = { id: this.floats[slot * 3 + 1], ts: Math.abs(ts) };
    if (ts < 0) sent.queued = true;
    return sent;
  }

  clear(): void {
    this.words.fill(0);
    this.filter.fill(0);
    this.size = 0;
  }
}

/**
 * The client message ids of recent sends, by account, send number and client id, with what each
 * send returned.
 *
 * Window: a re-send is recognised when fewer than `window` other sends with an id were remembered
 * since its original; it may be recognised for up to `2 × window` of them. Ids go into the current
 * generation; when it holds `window` ids it becomes the previous one and the old previous generation
 * is emptied and reused. Evicting the oldest key of one Map walked V8's deleted entries on every
 * insert (the server went from 98k to 18k msgs/s); a Map per generation kept every key string and
 * result object on the heap, where the collector marked them over and over. Here a key is kept as a
 * 64-bit hash (two FNV-1a lanes over `<account>\0<send>:<cid>`, read part by part) in typed
 * arrays: two different keys share a hash with odds of about 2⁻⁶⁴ per pair, far below those of a
 * machine fault, and the arrays are never traced.
 *
 * Cost per send (issue #14 item 6): a new id is hashed once (`remember` right after `get` with the
 * same parts reuses the hash and the slot `get` found). A cid that ends in a counter (the bundled
 * client's per-connection prefix and a number, see client_ids.ts) is hashed from its stem and the
 * counter, and the stem's lanes are kept: the next id of the same client hashes no character,
 * and the chat core passes the split it makes for the store anyway. Where a key is probed from
 * keeps a client's counters together: each run of 16 consecutive counters of a stem fills one
 * block of slots, at a place chosen by the stem's hash and the run, and the previous generation's
 * filter has one word per such block. A client's sends so walk a few cache lines in turn where a
 * random slot of a 6 MiB table missed the caches every time (the message path's allocations evict
 * it); the window's rule is the same for every cid.
 *
 * @example
 * ```ts
 * import { RecentSends } from "./recent_sends.ts";
 * const recent = new RecentSends(2);
 * recent.remember("alice", 0, "c1", { id: 1, ts: 1_700_000_000_000 });
 * recent.get("alice", 0, "c1"); // { id: 1, ts: 1700000000000 }
 * ```
 */
export class RecentSends implements DuplicateIds {
  #current: Generation;
  #previous: Generation;
  /** The parts last hashed, and their hash: `get` then `remember` of one send hash them once. */
  #account: string | undefined;
  #send = -1;
  #cid: string | undefined;
  #hi = 0;
  #lo = 0;
  /** Where the key last hashed starts probing, and its probe's step (`#hash`). */
  #home = 0;
  #step = 1;
  /** The last stem hashed: its account, the stored stem (`ClientIdSplit.stem`), the lanes after it. */
  #stemAccount: string | undefined;
  #stem: string | undefined;
  #stemA = 0;
  #stemB = 0;
  /** The split `#hash` makes when the caller gives none. */
  readonly #split = newClientIdSplit();
  /** The current table's slot that `get` found for the key last hashed, for `remember`. */
  #slot = -1;

  /** Remembers at least the last `window` ids; `window` is at least 1. */
  constructor(readonly window: number) {
    if (!(window >= 1)) throw new RangeError(`Cannot keep recent sends: window ${window} < 1`);
    const slots = slotsFor(window);
    const bits = filterBitsFor(window);
    this.#current = new Generation(slots, bits);
    this.#previous = new Generation(slots, bits);
  }

  /** What the send returned, while it is within the window. `split`: see `DuplicateIds`. */
  get(account: string, send: number, cid: string, split?: ClientIdSplit): Sent | undefined {
    // Hashed anew: the memo's check would compare this cid with the last one character by
    // character (same length, different last digits); `remember` finds the same cid object.
    this.#hash(account, send, cid, split);
    // The current table directly: `remember` stores a new id in the slot this probe found.
    const current = this.#current;
    const slot = this.#slot = current.find(this.#hi, this.#lo, this.#home, this.#step);
    return current.read(slot) ?? this.#lookupPrevious();
  }

  /** Remembers a send; the oldest generation goes when the current one is full. */
  remember(account: string, send: number, cid: string, sent: Sent, split?: ClientIdSplit): void {
    let slot = this.#slot;
    if (this.#current.size >= this.window) {
      const emptied = this.#previous;
      emptied.clear();
      this.#previous = this.#current;
      this.#current = emptied;
      slot = -1;
    }
    const hi = this.#hi;
    const lo = this.#lo;
    if (account !== this.#account || send !== this.#send || cid !== this.#cid) {
      this.#hash(account, send, cid, split);
    }
    const generation = this.#current;
    const home = this.#home;
    // The slot `get` found for this key, unless another key was hashed or stored since.
    if (slot < 0 || hi !== this.#hi || lo !== this.#lo || !generation.holdsOrFree(slot, hi, lo)) {
      slot = generation.find(this.#hi, this.#lo, home, this.#step);
    }
    this.#slot = -1;
    // The sign carries `queued`: a time is never negative.
    const ts = sent.queued ? -sent.ts : sent.ts;
    generation.put(slot, this.#hi, this.#lo, home, sent.id, ts);
  }

  /** How many ids are remembered now: between `window` and `2 × window` once that many were seen. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /** Forgets everything, for a commit that failed after sends were remembered. */
  clear(): void {
    this.#current.clear();
    this.#previous.clear();
    this.#slot = -1;
  }

  /** What the previous generation holds for the hash last computed: its filter first. */
  #lookupPrevious(): Sent | undefined {
    const previous = this.#previous;
    const lo = this.#lo;
    const home = this.#home;
    return previous.mayHold(lo, home)
      ? previous.read(previous.find(this.#hi, lo, home, this.#step))
      : undefined;
  }

  /**
   * The key's 64-bit hash and home slot. A cid with a counter (see client_ids.ts) is hashed as two
   * 32-bit FNV-1a lanes over `<account>\0<stored stem>`, with different offsets and primes, each
   * mixed with the counter by MurmurHash3's finalizer; the lanes of the last stem are kept, so the
   * next id of the same client hashes no character. Other cids: the lanes over
   * `<account>\0<send>:<cid>`, each finished with the mixer. Each key has one form, so one hash.
   */
  #hash(account: string, send: number, cid: string, given?: ClientIdSplit): void {
    this.#account = account;
    this.#send = send;
    this.#cid = cid;
    this.#slot = -1;
    let split = given;
    if (split === undefined) splitClientId(split = this.#split, send, cid);
    const stem = split.stem;
    if (stem === undefined) {
      const number = String(send); // a small integer's string is cached by V8
      laneA = 0x811c9dc5;
      laneB = 0x050c5d1f;
      feed(account);
      feed("\u0000");
      feed(number);
      feed(":");
      feed(cid);
      this.#hi = mix(laneA ^ (account.length + number.length + cid.length + 2));
      this.#lo = mix(laneB) || 1;
      this.#home = this.#hi ^ this.#lo;
      this.#step = this.#hi | 1;
      return;
    }
    if (stem !== this.#stem || account !== this.#stemAccount) {
      laneA = 0x2f9be6dd;
      laneB = 0x7a3c5e01;
      feed(account);
      feed("\u0000");
      feed(stem);
      this.#stemA = laneA;
      this.#stemB = laneB;
      this.#stem = stem;
      this.#stemAccount = account;
    }
    const counter = split.counter;
    this.#hi = mix(this.#stemA ^ mix(counter ^ 0x9e3779b9));
    this.#lo = mix(this.#stemB ^ mix(counter ^ 0x85ebca6b)) || 1;
    // Counters in blocks of BLOCK consecutive slots, each block where the stem's hash and the
    // counter's block number put it. A block that finds its place taken moves on whole, by a step
    // of its own that keeps its counters side by side (BLOCK × n + 1): linear probing walked each
    // of its counters through the other block's run, some 8 slots a send at a full window.
    const block = mix(this.#stemA ^ Math.imul((counter >>> BLOCK_BITS) + 1, 0x9e3779b1));
    this.#home = (block << BLOCK_BITS) | (counter & (BLOCK - 1));
    this.#step = ((block >>> 16) << BLOCK_BITS) | 1;
  }
}
