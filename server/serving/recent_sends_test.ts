// Tests of the duplicate-suppression window: what is recognised, for how long, and clearing.

import assert from "node:assert/strict";
import { RecentSends } from "./recent_sends.ts";
import { newClientIdSplit, splitClientId } from "./client_ids.ts";

const sent = (id: number) => ({ id, ts: 1_700_000_000_000 + id });

Deno.test("RecentSends recognises an id until `window` later ids were remembered", () => {
  const window = 4;
  const recent = new RecentSends(window);
  recent.remember("alice", 0, "first", sent(0));
  for (let i = 1; i < window; i++) recent.remember("alice", 0, `k${i}`, sent(i));
  // The first id's generation is full; the next `window` ids fill the new one and keep it.
  for (let i = window; i < 2 * window; i++) {
    recent.remember("alice", 0, `k${i}`, sent(i));
    assert.deepEqual(recent.get("alice", 0, "first"), sent(0), `after ${i} later ids`);
  }
  recent.remember("alice", 0, "one more", sent(2 * window));
  assert.equal(recent.get("alice", 0, "first"), undefined);
  assert.deepEqual(
    recent.get("alice", 0, `k${window}`),
    sent(window),
    "the newer generation stays",
  );
});

Deno.test("RecentSends always keeps the last `window` ids and at most twice that", () => {
  const window = 1000;
  const recent = new RecentSends(window);
  for (let i = 0; i < 9500; i++) {
    recent.remember("alice", 0, `3f9c1a7e-${i}`, sent(i));
    for (const back of [0, 1, window / 2, window - 1]) {
      if (back > i) continue;
      assert.deepEqual(recent.get("alice", 0, `3f9c1a7e-${i - back}`), sent(i - back));
    }
    assert.equal(recent.get("bob", 0, `3f9c1a7e-${i}`), undefined, "accounts are not confused");
    assert.equal(recent.get("alice", 1, `3f9c1a7e-${i}`), undefined, "send numbers are not");
    assert.ok(recent.size <= 2 * window);
  }
});

Deno.test("RecentSends keeps `queued` and forgets everything on clear()", () => {
  const recent = new RecentSends(3);
  recent.remember("alice", 0, "a", { id: 7, ts: 5, queued: true });
  recent.remember("alice", 0, "b", sent(8));
  assert.deepEqual(recent.get("alice", 0, "a"), { id: 7, ts: 5, queued: true });
  assert.deepEqual(recent.get("alice", 0, "b"), sent(8));
  recent.clear();
  assert.equal(recent.size, 0);
  assert.equal(recent.get("alice", 0, "a"), undefined);
});

Deno.test("RecentSends refuses a window below one", () => {
  assert.throws(() => new RecentSends(0), /window 0 < 1/);
});

Deno.test("RecentSends hashes the parts as one key: a split elsewhere is still another send", () => {
  const recent = new RecentSends(100);
  recent.remember("al", 0, "ice", sent(1));
  recent.remember("alice", 1, "2:x", sent(2));
  // The same units in another split: "al\u00000:ice" is not "alice\u00000:ice" and "12:x" is not "1:2:x".
  assert.equal(recent.get("alice", 0, "ice"), undefined);
  assert.equal(recent.get("alice", 12, "x"), undefined);
  assert.deepEqual(recent.get("al", 0, "ice"), sent(1));
  assert.deepEqual(recent.get("alice", 1, "2:x"), sent(2), "a cid may hold ':'");
});

Deno.test("RecentSends answers at a full window after many generations, filters and all", () => {
  const window = 5000;
  const recent = new RecentSends(window);
  let stored = 0;
  for (let i = 0; i < 12 * window; i++) {
    // Every 7th send comes again, as a client re-sends: the first answer is returned.
    const again = i % 7 === 6 ? recent.get("bob", 0, `c-${i - 3}`) : undefined;
    assert.deepEqual(again, i % 7 === 6 ? sent(i - 3) : undefined);
    if (recent.get("bob", 0, `c-${i}`) === undefined) {
      recent.remember("bob", 0, `c-${i}`, sent(i));
      stored++;
    }
  }
  assert.equal(stored, 12 * window, "no new id was taken for a re-send");
});

/** The window's rule kept in two Maps: what RecentSends must answer, key by key. */
function mapModel(window: number) {
  let current = new Map<string, { id: number; ts: number }>();
  let previous = new Map<string, { id: number; ts: number }>();
  const key = (account: string, send: number, cid: string) => `${account}\u0000${send}:${cid}`;
  return {
    get: (account: string, send: number, cid: string) =>
      current.get(key(account, send, cid)) ?? previous.get(key(account, send, cid)),
    remember(account: string, send: number, cid: string, sent: { id: number; ts: number }) {
      if (current.size >= window) [previous, current] = [current, new Map()];
      current.set(key(account, send, cid), sent);
    },
  };
}

Deno.test("RecentSends answers as the two-Map rule for every shape of cid, interleaved", () => {
  const window = 3000;
  const recent = new RecentSends(window);
  const model = mapModel(window);
  let seed = 7;
  const random = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  // Per client: its account, its prefix and its next counter (the bundled client's shape).
  const clients = ["alice", "bob", "carol", "alice"].map((account, i) => ({
    account,
    prefix: ["3f9c1a7e-", "0b1d22aa-", "x", "3f9c1a7e-"][i], // alice twice: another connection
    next: [1, 99_999_990, 0, 5][i],
  }));
  const shapes = [
    (c: (typeof clients)[0]) => `${c.prefix}${c.next++}`, // in order
    (c: (typeof clients)[0]) => `${c.prefix}${c.next + 3 - random(7)}`, // out of order, retries
    (c: (typeof clients)[0]) => `${c.prefix}0${c.next}`, // a leading zero: another cid
    (c: (typeof clients)[0]) => `${c.prefix}${12_345_678_900 + c.next}`, // over 9 digits
    () => `msg-${random(50)}-x`, // no counter
    () => String(random(100_000)), // only digits
    () => `${random(3)}`, // one digit
  ];
  let id = 0;
  const splitter = newClientIdSplit();
  for (let i = 0; i < 20 * window; i++) {
    const client = clients[random(clients.length)];
    const shape = shapes[random(10) < 7 ? 0 : random(shapes.length)];
    const cid = shape(client);
    const send = random(10) < 9 ? 0 : random(3);
    const expected = model.get(client.account, send, cid);
    // As the chat core asks (split once for the store too), or as a reload or another node does.
    splitClientId(splitter, send, cid);
    const split = random(4) === 0 ? undefined : splitter;
    const got = recent.get(client.account, send, cid, random(4) === 0 ? undefined : split);
    assert.deepEqual(got, expected, `${i}: ${send}:${cid}`);
    if (expected === undefined) {
      const sent = { id: ++id, ts: 1_700_000_000_000 + id };
      recent.remember(client.account, send, cid, sent, random(4) === 0 ? undefined : split);
      model.remember(client.account, send, cid, sent);
    }
  }
});

Deno.test("RecentSends recognises a retry after a reconnect and a new connection's prefix apart", () => {
  const recent = new RecentSends(100);
  for (let n = 1; n <= 40; n++) recent.remember("alice", 0, `3f9c1a7e-${n}`, sent(n));
  // The connection drops; the client keeps its prefix and re-sends its last two unanswered.
  assert.deepEqual(recent.get("alice", 0, "3f9c1a7e-39"), sent(39));
  assert.deepEqual(recent.get("alice", 0, "3f9c1a7e-40"), sent(40));
  // Another client process of alice starts at 1 with its own prefix: nothing of the first matches.
  for (let n = 1; n <= 40; n++) assert.equal(recent.get("alice", 0, `77aa01be-${n}`), undefined);
  assert.equal(recent.get("alice", 0, "3f9c1a7e-41"), undefined);
  assert.equal(recent.get("alice", 0, "3f9c1a7e-040"), undefined, "040 is not 40");
});
