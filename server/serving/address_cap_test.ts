// Tests of the open-connections-per-address cap over a counted set of connections, as the gate uses it.

import assert from "node:assert/strict";
import { createAddressCap } from "./address_cap.ts";

/** Open connections by address, as the system would count them, and how often they were counted. */
function world(limit: number) {
  const open = new Map<string, number>();
  /** `countMs`: how long each count takes, in the test's clock. */
  const state = { limit, counts: 0, time: 0, countMs: 0 };
  const cap = createAddressCap({
    limit: () => state.limit,
    count: () => {
      state.counts++;
      state.time += state.countMs;
      return new Map(open);
    },
    now: () => state.time,
  });
  /** A connection from `address` is accepted and asks the gate; it stays only when admitted. */
  const connect = (address: string) => {
    open.set(address, (open.get(address) ?? 0) + 1);
    const admitted = cap.admit(address);
    if (!admitted) close(address);
    return admitted;
  };
  const close = (address: string) => open.set(address, open.get(address)! - 1);
  return { open, state, connect, close };
}

Deno.test("createAddressCap() admits an address up to the limit and refuses the next", () => {
  const w = world(3);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => w.connect("192.0.2.1")), [
    true,
    true,
    true,
    false,
    false,
  ]);
  assert.equal(w.open.get("192.0.2.1"), 3);
  assert.equal(w.connect("192.0.2.2"), true, "another address is not held back");
});

Deno.test("createAddressCap() counts only when an address looks full, and frees closed places", () => {
  const w = world(3);
  for (let i = 0; i < 3; i++) w.connect("192.0.2.1");
  assert.equal(w.state.counts, 1, "counted once, at the first admission");
  w.close("192.0.2.1");
  w.state.time += 100;
  assert.equal(w.connect("192.0.2.1"), true, "a closed connection's place is free again");
  assert.equal(w.connect("192.0.2.1"), false);
});

Deno.test("createAddressCap() counts at most every 100 ms, and less often when counting is slow", () => {
  const w = world(2);
  w.connect("192.0.2.1");
  w.connect("192.0.2.1");
  w.state.time += 100;
  const counts = w.state.counts;
  assert.equal(w.connect("192.0.2.1"), false);
  assert.equal(w.state.counts, counts + 1, "a full address is counted");
  w.close("192.0.2.1");
  w.state.time += 99;
  assert.equal(w.connect("192.0.2.1"), false, "refused on the count of 99 ms ago");
  assert.equal(w.state.counts, counts + 1);
  w.state.time += 1;
  w.state.countMs = 10; // a slow count: the next waits 20 times as long
  assert.equal(w.connect("192.0.2.1"), true, "counted again: the place is free");
  assert.equal(w.connect("192.0.2.1"), false);
  w.close("192.0.2.1");
  w.state.time += 150;
  assert.equal(w.connect("192.0.2.1"), false, "150 ms after a 10 ms count: not yet");
  w.state.time += 50;
  assert.equal(w.connect("192.0.2.1"), true);
});

Deno.test("createAddressCap() with limit 0 admits all, and a new limit counts afresh", () => {
  const w = world(0);
  for (let i = 0; i < 10; i++) assert.equal(w.connect("192.0.2.1"), true);
  assert.equal(w.state.counts, 0);
  w.state.limit = 4;
  assert.equal(w.connect("192.0.2.1"), false, "the address already holds 10");
  assert.equal(w.connect("192.0.2.2"), true);
});

Deno.test("createAddressCap() admits when connections cannot be counted", () => {
  const cap = createAddressCap({ limit: () => 1, count: () => undefined });
  assert.equal(cap.admit("192.0.2.1"), true);
  assert.equal(cap.admit("192.0.2.1"), true);
});
