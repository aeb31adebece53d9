// Tests of the duplicate-suppression window: what is recognised, for how long, and clearing.

import assert from "node:assert/strict";
import { RecentSends } from "./recent_sends.ts";

const sent = (id: number) => ({ id, ts: 1_700_000_000_000 + id });

Deno.test("RecentSends recognises an id until `window` later ids were remembered", () => {
  const window = 4;
  const recent = new RecentSends(window);
  recent.remember("first", sent(0));
  for (let i = 1; i < window; i++) recent.remember(`k${i}`, sent(i));
  // The first id's generation is full; the next `window` ids fill the new one and keep it.
  for (let i = window; i < 2 * window; i++) {
    recent.remember(`k${i}`, sent(i));
    assert.deepEqual(recent.get("first"), sent(0), `after ${i} later ids`);
  }
  recent.remember("one more", sent(2 * window));
  assert.equal(recent.get("first"), undefined);
  assert.deepEqual(recent.get(`k${window}`), sent(window), "the newer generation stays");
});

Deno.test("RecentSends always keeps the last `window` ids and at most twice that", () => {
  const window = 1000;
  const recent = new RecentSends(window);
  for (let i = 0; i < 9500; i++) {
    recent.remember(`alice\u00000:3f9c1a7e-${i}`, sent(i));
    for (const back of [0, 1, window / 2, window - 1]) {
      if (back > i) continue;
      assert.deepEqual(recent.get(`alice\u00000:3f9c1a7e-${i - back}`), sent(i - back));
    }
    assert.equal(recent.get(`bob\u00000:3f9c1a7e-${i}`), undefined, "keys are not confused");
    assert.ok(recent.size <= 2 * window);
  }
});

Deno.test("RecentSends keeps `queued` and forgets everything on clear()", () => {
  const recent = new RecentSends(3);
  recent.remember("a", { id: 7, ts: 5, queued: true });
  recent.remember("b", sent(8));
  assert.deepEqual(recent.get("a"), { id: 7, ts: 5, queued: true });
  assert.deepEqual(recent.get("b"), sent(8));
  recent.clear();
  assert.equal(recent.size, 0);
  assert.equal(recent.get("a"), undefined);
});

Deno.test("RecentSends refuses a window below one", () => {
  assert.throws(() => new RecentSends(0), /window 0 < 1/);
});
