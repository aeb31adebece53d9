// A per-second counter over the last minute: the operator's "messages per second" figure.
// Pure state: the caller samples a running total once a second.

/** Seconds the rate is averaged over. */
const WINDOW_S = 60;

/** Average rate of a growing total over the last minute. */
export class RateWindow {
  readonly #samples: number[] = [];

  /** Records the running total; call once a second. */
  sample(total: number): void {
    this.#samples.push(total);
    if (this.#samples.length > WINDOW_S + 1) this.#samples.shift();
  }

  /** Per-second average over the samples kept (up to a minute); 0 before two samples. */
  perSecond(): number {
    const n = this.#samples.length;
    if (n < 2) return 0;
    return (this.#samples[n - 1] - this.#samples[0]) / (n - 1);
  }
}
