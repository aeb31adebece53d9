// Tests of the benchmark's order statistics.
// Small hand-checked lists: nearest-rank percentiles are easy to get off by one.

import assert from "node:assert/strict";
import { median, percentiles, percentileSorted, spread } from "./stats.ts";

Deno.test("median() takes the middle value of an odd count and the mean of an even one", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

Deno.test("median() leaves its input unsorted and refuses an empty list", () => {
  const values = [3, 1, 2];
  median(values);
  assert.deepEqual(values, [3, 1, 2]);
  assert.throws(() => median([]), RangeError);
});

Deno.test("percentileSorted() uses the nearest rank", async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  await t.step("p50 and p99 of 1..100 are 50 and 99", () => {
    assert.equal(percentileSorted(hundred, 50), 50);
    assert.equal(percentileSorted(hundred, 99), 99);
  });
  await t.step("p100 is the maximum and a tiny p is the minimum", () => {
    assert.equal(percentileSorted(hundred, 100), 100);
    assert.equal(percentileSorted(hundred, 0.001), 1);
  });
  await t.step("p99 of 10 values is the largest", () => {
    assert.equal(percentileSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
  });
  await t.step("out-of-range percentiles are refused", () => {
    assert.throws(() => percentileSorted(hundred, 0), RangeError);
    assert.throws(() => percentileSorted(hundred, 101), RangeError);
  });
});

Deno.test("percentiles() sorts numerically, not as strings", () => {
  assert.deepEqual(percentiles([100, 9, 20]), { count: 3, p50: 20, p99: 100, max: 100 });
});

Deno.test("spread() gives the median with min and max", () => {
  assert.deepEqual(spread([120, 100, 110]), { median: 110, min: 100, max: 120 });
  assert.throws(() => spread([]), RangeError);
});
