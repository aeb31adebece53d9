// Duplicate suppression of client message ids: what each recent send with a cid was stored as.
// Two generations of Maps, so remembering and forgetting stay constant-time however many ids were seen.

/**
 * The client message ids of recent sends, by key, with what each send returned.
 *
 * Window: a re-send is recognised when fewer than `window` other sends with an id were remembered
 * since its original; it may be recognised for up to `2 × window` of them. Ids go into the current
 * generation; when it holds `window` ids it becomes the previous one and the old previous generation
 * is dropped whole. Dropping a Map is one pointer swap, where evicting the oldest key of one Map
 * walks V8's deleted entries on every insert (it took the server from 98k to 18k msgs/s).
 *
 * @example
 * ```ts
 * import { RecentSends } from "./recent_sends.ts";
 * const recent = new RecentSends<number>(2);
 * recent.remember("alice\u00000:c1", 1);
 * recent.get("alice\u00000:c1"); // 1
 * ```
 */
export class RecentSends<T> {
  #current = new Map<string, T>();
  #previous = new Map<string, T>();

  /** Remembers at least the last `window` ids; `window` is at least 1. */
  constructor(readonly window: number) {
    if (!(window >= 1)) throw new RangeError(`Cannot keep recent sends: window ${window} < 1`);
  }

  /** What the send with this key returned, while it is within the window. */
  get(key: string): T | undefined {
    return this.#current.get(key) ?? this.#previous.get(key);
  }

  /** Remembers a send; the oldest generation goes when the current one is full. */
  remember(key: string, value: T): void {
    if (this.#current.size >= this.window) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(key, value);
  }

  /** How many ids are remembered now: between `window` and `2 × window` once that many were seen. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /** Forgets everything, for a commit that failed after sends were remembered. */
  clear(): void {
    this.#current = new Map();
    this.#previous = new Map();
  }
}
