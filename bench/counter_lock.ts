// What the message id counter's row lock costs a cluster: turns per second of 1, 2 and 4 writers
// (each its own store, as nodes are) on one PostgreSQL, storing one message a turn (the lock) or
// staging one account update a turn (the same commit, no shared row). Interleaved rounds.
// Run: deno run -A bench/counter_lock.ts   (it starts and removes its own PostgreSQL)

import { startPostgres } from "../tests/services.ts";
import type { WriterTask } from "./counter_lock_worker.ts";

/** Turns each writer runs per measurement. */
const TURNS = 1000;
/** Rounds alternating the kinds and writer counts, so each meets the same machine load. */
const ROUNDS = 3;
const WRITERS = [1, 2, 4];

/** Turns per second of `writers` writers running `kind` turns at once. */
async function rate(url: string, writers: number, kind: WriterTask["kind"]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, () => {
      const worker = new Worker(new URL("./counter_lock_worker.ts", import.meta.url), {
        type: "module",
      });
      const done = new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (e) => reject(new Error(e.message));
      }).finally(() => worker.terminate());
      worker.postMessage({ url, turns: TURNS, kind } satisfies WriterTask);
      return done;
    }),
  );
  return writers * TURNS / ((performance.now() - started) / 1000);
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

await using pg = await startPostgres();
const url = await pg.createDatabase("counter_lock");
const results: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const writers of WRITERS) {
    for (const kind of ["messages", "touch"] as const) {
      (results[`${kind} ${writers} writers`] ??= []).push(await rate(url, writers, kind));
    }
  }
}
for (const [key, values] of Object.entries(results)) {
  console.log(
    `${key.padEnd(20)} median ${Math.round(median(values))} turns/s  [${
      values.map((v) => Math.round(v)).join(", ")
    }]`,
  );
}
