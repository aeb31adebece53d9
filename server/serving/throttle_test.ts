// Tests of the failed-login throttle: free failures, doubling waits, the cap, reset and pruning.
// Every call gets an explicit `now`, so nothing here waits on a clock.

import assert from "node:assert/strict";
import { ADDRESS_POLICY, LoginThrottle } from "./throttle.ts";

const T0 = 1_700_000_000_000;

Deno.test("throttle.fail() imposes no wait for the first three failures", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 3; i++) {
    assert.equal(throttle.fail("alice", T0 + i), 0);
    assert.equal(throttle.waitFor("alice", T0 + i), 0);
  }
});

Deno.test("throttle.fail() doubles the wait from one second after the free failures", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 3; i++) throttle.fail("alice", T0);
  const waits = [1, 2, 3, 4, 5, 6].map(() => throttle.fail("alice", T0));
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 32000]);
});

Deno.test("throttle.fail() caps the wait at one minute", () => {
  const throttle = new LoginThrottle();
  const waits = Array.from({ length: 20 }, () => throttle.fail("alice", T0));
  assert.equal(waits[9], 60_000); // 64 s uncapped
  assert.equal(waits[19], 60_000);
  assert.ok(waits.every((w) => w <= 60_000));
});

Deno.test("throttle.waitFor() counts down from the last failure", async (t) => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 4; i++) throttle.fail("alice", T0);
  await t.step("right after", () => assert.equal(throttle.waitFor("alice", T0), 1000));
  await t.step("part way", () => assert.equal(throttle.waitFor("alice", T0 + 400), 600));
  await t.step("at the end", () => assert.equal(throttle.waitFor("alice", T0 + 1000), 0));
  await t.step("long after", () => assert.equal(throttle.waitFor("alice", T0 + 5000), 0));
  await t.step("another key is not affected", () => assert.equal(throttle.waitFor("bob", T0), 0));
});

Deno.test("throttle.succeed() forgets a key's failures", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 5; i++) throttle.fail("alice", T0);
  throttle.fail("bob", T0);
  throttle.succeed("alice");
  assert.equal(throttle.waitFor("alice", T0), 0);
  assert.equal(throttle.size, 1);
  // The free failures are free again.
  assert.equal(throttle.fail("alice", T0), 0);
  assert.equal(throttle.fail("alice", T0), 0);
  assert.equal(throttle.fail("alice", T0), 0);
  assert.equal(throttle.fail("alice", T0), 1000);
});

Deno.test("throttle.prune() forgets keys idle for over fifteen minutes", async (t) => {
  const throttle = new LoginThrottle();
  const fifteenMinutes = 15 * 60_000;
  throttle.fail("old", T0);
  throttle.fail("recent", T0 + 60_000);
  await t.step("at exactly fifteen minutes, both stay", () => {
    throttle.prune(T0 + fifteenMinutes);
    assert.equal(throttle.size, 2);
  });
  await t.step("one millisecond later, the old one goes", () => {
    throttle.prune(T0 + fifteenMinutes + 1);
    assert.equal(throttle.size, 1);
  });
  await t.step("a pruned key starts again from zero", () => {
    for (let i = 0; i < 3; i++) throttle.fail("recent", T0 + 60_000);
    throttle.prune(T0 + 60_000 + fifteenMinutes + 1);
    assert.equal(throttle.size, 0);
    assert.equal(throttle.fail("recent", T0 + 10 * fifteenMinutes), 0);
  });
  await t.step("a later failure keeps a key alive", () => {
    const fresh = new LoginThrottle();
    fresh.fail("k", T0);
    fresh.fail("k", T0 + fifteenMinutes);
    fresh.prune(T0 + fifteenMinutes + 1);
    assert.equal(fresh.size, 1);
  });
});

Deno.test("an address throttle allows 10 free failures and caps the wait at 5 minutes", () => {
  const throttle = new LoginThrottle(ADDRESS_POLICY);
  const waits = Array.from({ length: 30 }, () => throttle.fail("addr:10.0.0.1", T0));
  assert.deepEqual(waits.slice(0, 12), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 2000]);
  assert.equal(waits[29], 300_000);
  assert.ok(waits.every((w) => w <= 300_000));
});

Deno.test("an address throttle forgives one failure per 5 quiet minutes", () => {
  const throttle = new LoginThrottle(ADDRESS_POLICY);
  for (let i = 0; i < 12; i++) throttle.fail("a", T0); // 2 past the free ones
  // 10 minutes quiet forgive 2: the next failure is the 11th again, a 1 s wait.
  assert.equal(throttle.fail("a", T0 + 10 * 60_000), 1000);
  // An hour quiet forgives everything: free again.
  assert.equal(throttle.fail("a", T0 + 80 * 60_000), 0);
});
