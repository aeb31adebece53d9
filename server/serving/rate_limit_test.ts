// Tests of the token buckets behind the flood and connection limits.
// Time is passed in explicitly; nothing sleeps.

import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limit.ts";

Deno.test("RateLimiter.take() allows a burst, then the steady rate", () => {
  const limiter = new RateLimiter({ burst: 3, perSecond: 2 });
  assert.deepEqual([0, 0, 0].map(() => limiter.take("a", 1000)), [0, 0, 0]);
  assert.equal(limiter.take("a", 1000), 500, "the next token comes in half a second");
  assert.equal(limiter.take("a", 1500), 0);
  assert.equal(limiter.take("b", 1500), 0, "keys are independent");
});

Deno.test("RateLimiter.take() refills no more than the burst", () => {
  const limiter = new RateLimiter({ burst: 2, perSecond: 10 });
  limiter.take("a", 0);
  limiter.take("a", 0);
  const allowed = [0, 1, 2].map(() => limiter.take("a", 60_000));
  assert.deepEqual(allowed.map((wait) => wait === 0), [true, true, false]);
});

Deno.test("RateLimiter with perSecond 0 never limits", () => {
  const limiter = new RateLimiter({ burst: 0, perSecond: 0 });
  for (let i = 0; i < 1000; i++) assert.equal(limiter.take("a", 0), 0);
  assert.equal(limiter.size, 0);
});

Deno.test("RateLimiter.prune() forgets idle buckets", () => {
  const limiter = new RateLimiter({ burst: 1, perSecond: 1 });
  limiter.take("a", 0);
  limiter.take("b", 590_000);
  limiter.prune(600_001);
  assert.equal(limiter.size, 1);
});
