// Tests of the duplicate-suppression window: what is recognised, for how long, and clearing.

import assert from "node:assert/strict";
import { RecentSends } from "./recent_sends.ts";

Deno.test("RecentSends recognises an id until `window` later ids were remembered", () => {
  const window = 4;
  const recent = new RecentSends<number>(window);
  recent.remember("first", 0);
  for (let i = 1; i < window; i++) recent.remember(`k${i}`, i);
  // The first id's generation is full; the next `window` ids fill the new one and keep it.
  for (let i = window; i < 2 * window; i++) {
    recent.remember(`k${i}`, i);
    assert.equal(recent.get("first"), 0, `after ${i} later ids`);
  }
  recent.remember("one more", 2 * window);
  assert.equal(recent.get("first"), undefined);
  assert.equal(recent.get(`k${window}`), window, "the newer generation stays");
});

Deno.test("RecentSends always keeps the last `window` ids and at most twice that", () => {
  const window = 10;
  const recent = new RecentSends<number>(window);
  for (let i = 0; i < 95; i++) {
    recent.remember(`k${i}`, i);
    for (let back = 0; back < Math.min(window, i + 1); back++) {
      assert.equal(recent.get(`k${i - back}`), i - back);
    }
    assert.ok(recent.size <= 2 * window);
  }
});

Deno.test("RecentSends.clear() forgets every id", () => {
  const recent = new RecentSends<string>(3);
  for (const key of ["a", "b", "c", "d"]) recent.remember(key, key.toUpperCase());
  recent.clear();
  assert.equal(recent.size, 0);
  assert.equal(recent.get("d"), undefined);
});

Deno.test("RecentSends refuses a window below one", () => {
  assert.throws(() => new RecentSends(0), /window 0 < 1/);
});
