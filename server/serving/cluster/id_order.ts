// Message ids in order across nodes: a node's sessions get an id only once every lower id is known
// here, its own commits and the other nodes' relayed turns alike, so a resume cursor skips nothing.

/**
 * The ids a turn stored: those after the counter's value when the turn locked it (`after`), up to
 * `last`. Turns lock the counter one after another, so these ranges tile the ids with no gap.
 */
export interface IdRange {
  /** The counter's value when the turn locked it: every id up to it was committed before. */
  after: number;
  /** The counter's value at the turn's commit: its highest id. */
  last: number;
}

/** Work that waits for the ids below its range. */
interface Waiting {
  last: number;
  runs: (() => void)[];
  since: number;
}

/** The ids known here, and what waits for the ones not known yet. */
export interface IdOrder {
  /** Every id up to this one is known here: stored by this node or relayed from another. */
  readonly known: number;
  /** This node's open turn locked the counter at `after`. */
  locked(after: number): void;
  /**
   * For a message event of the open turn with `id`: true when it must wait (an id below the turn's
   * is not known here yet, or an earlier event of the turn waits), and `run` is kept to deliver it
   * once they are; false when it may be delivered now.
   */
  holdBack(id: number, run: () => void): boolean;
  /** The open turn committed its ids up to `last`: what waited for them runs when it may. */
  committed(last: number): void;
  /** The open turn's commit failed: what it kept is dropped. */
  discard(): void;
  /** Another node's turn stored `range`: `apply` runs now, or once the ids below are known. */
  arrived(range: IdRange, apply: () => void): void;
  /**
   * Gives up on ids missing since before `cutoff` (their node died before relaying them, or the bus
   * lost them): first `catchUp(after, upTo)` with the last id known and the highest id of what
   * waits (the store has every id between, so the sessions catch up from it), then every range
   * that arrived is taken as known and what waited runs. False when nothing waited that long.
   */
  expire(cutoff: number, catchUp: (after: number, upTo: number) => void): boolean;
  /** How many turns wait. */
  readonly waiting: number;
}

/** Starts with every id up to `known` known (those stored before this node joined). */
export function createIdOrder(known: number, now: () => number): IdOrder {
  /** Ranges that arrived or committed above `known`, by the id before them. */
  const ahead = new Map<number, Waiting>();
  let turnAfter: number | undefined;
  let turnRuns: (() => void)[] = [];

  function advance(): void {
    for (let next = ahead.get(known); next; next = ahead.get(known)) {
      ahead.delete(known);
      known = next.last;
      for (const run of next.runs) run();
    }
  }

  function add(range: IdRange, runs: (() => void)[]): void {
    if (range.last <= known) {
      // Known already: only after `expire` gave up on these ids (the sessions caught up meanwhile).
      for (const run of runs) run();
      return;
    }
    if (range.after <= known) {
      known = range.last;
      for (const run of runs) run();
      advance();
      return;
    }
    const waiting = ahead.get(range.after);
    if (waiting) {
      // The same range twice (a message the bus delivered again): keep both, in order.
      waiting.last = Math.max(waiting.last, range.last);
      waiting.runs.push(...runs);
    } else ahead.set(range.after, { last: range.last, runs, since: now() });
  }

  return {
    get known() {
      return known;
    },
    get waiting() {
      return ahead.size;
    },
    locked(after) {
      turnAfter = after;
    },
    holdBack(id, run) {
      if (turnAfter === undefined || id <= turnAfter) return false;
      if (turnRuns.length === 0 && turnAfter <= known) return false;
      turnRuns.push(run);
      return true;
    },
    committed(last) {
      if (turnAfter === undefined) return;
      const range = { after: turnAfter, last };
      const runs = turnRuns;
      turnAfter = undefined;
      turnRuns = [];
      // A turn that locked the counter and took no id (it only counted under the lock) settles
      // nothing; the next turn locks at the same value.
      if (last > range.after) add(range, runs);
    },
    discard() {
      turnAfter = undefined;
      turnRuns = [];
    },
    arrived(range, apply) {
      add(range, [apply]);
    },
    expire(cutoff, catchUp) {
      let oldest = Infinity;
      for (const waiting of ahead.values()) oldest = Math.min(oldest, waiting.since);
      if (oldest >= cutoff) return false;
      let upTo = known;
      for (const waiting of ahead.values()) upTo = Math.max(upTo, waiting.last);
      catchUp(known, upTo);
      const ranges = [...ahead].sort(([a], [b]) => a - b);
      ahead.clear();
      for (const [, waiting] of ranges) {
        known = Math.max(known, waiting.last);
        for (const run of waiting.runs) run();
      }
      return true;
    },
  };
}
