// Tests of the jittered back-off: the window doubles up to its cap and the draw spans all of it.

import assert from "node:assert/strict";
import { backoffCeiling, backoffDelay } from "./backoff.ts";

const OPTIONS = { firstMs: 250, maxMs: 15_000 };

Deno.test("backoffCeiling() doubles from firstMs and stops at maxMs", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffCeiling(attempt, OPTIONS)),
    [250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000],
  );
  assert.equal(backoffCeiling(0, OPTIONS), 250, "attempt 0 is treated as the first");
  assert.equal(backoffCeiling(10_000, OPTIONS), 15_000, "no overflow on a very long outage");
});

Deno.test("backoffDelay() draws from the whole window: full jitter", async (t) => {
  await t.step("random() = 0 waits not at all", () => {
    assert.equal(backoffDelay(4, OPTIONS, () => 0), 0);
  });
  await t.step("random() just under 1 waits just under the ceiling", () => {
    const wait = backoffDelay(4, OPTIONS, () => 0.999);
    assert.ok(wait > 1990 && wait < 2000, `waited ${wait}`);
  });
  await t.step("halfway is half the ceiling, at the cap too", () => {
    assert.equal(backoffDelay(2, OPTIONS, () => 0.5), 250);
    assert.equal(backoffDelay(30, OPTIONS, () => 0.5), 7500);
  });
  await t.step("with Math.random, every wait is inside the window", () => {
    for (let i = 0; i < 1000; i++) {
      const wait = backoffDelay(3, OPTIONS);
      assert.ok(wait >= 0 && wait < 1000, `waited ${wait}`);
    }
  });
});
