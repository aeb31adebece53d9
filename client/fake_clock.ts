// A clock for tests of code that waits (the connection, scripted mode): time moves only when told.
// Timers run in due order as the test advances it, with promise chains let run between them.

import type { Clock, Timer } from "./link.ts";

/** A clock that moves only when told: timers run in due order as it advances. */
export class FakeClock implements Clock {
  time = 1_000_000;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number): Timer => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.time + ms, fn });
    return id as unknown as Timer;
  };
  clearTimeout = (timer: Timer | undefined) => {
    this.#timers.delete(timer as unknown as number);
  };
  /** Moves time on by `ms`, running each timer that falls due, and what it set off, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (let i = 0; i < 10_000; i++) {
      const due = [...this.#timers].filter(([, t]) => t.at <= end).sort((a, b) =>
        a[1].at - b[1].at
      );
      if (due.length === 0) break;
      const [id, timer] = due[0];
      this.#timers.delete(id);
      this.time = timer.at;
      timer.fn();
      await settle();
    }
    this.time = end;
    await settle();
  }
}

/** Lets promise chains and queued microtasks run (a real zero timer: no waiting on time). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
