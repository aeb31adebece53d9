// Tests of per-peer batching: one frame per peer per turn, split only when a batch is over its caps.
// Frames are collected from drain() and their bodies parsed back as JSON.

import assert from "node:assert/strict";
import { MAX_BATCH, PROTOCOL_VERSION } from "../../protocol/wire.ts";
import { Outbox, PEER_TURN_CHARS } from "./outbox.ts";
import type { Recipient } from "./peer_transport.ts";

/** The per-frame character budget of outbox.ts, repeated here so a change to it is noticed. */
const MAX_FRAME_CHARS = 256 * 1024;

function recipient(id: string): Recipient {
  return { id, peer: new TextEncoder().encode(id) };
}

function drainAll(outbox: Outbox): { frames: [Uint8Array, string, string][]; count: number } {
  const frames: [Uint8Array, string, string][] = [];
  const count = outbox.drain((to, [version, body]) => frames.push([to.peer, version, body]));
  return { frames, count };
}

Deno.test("outbox.drain() sends one frame per peer with its messages in order", () => {
  const outbox = new Outbox();
  const a = recipient("a");
  const b = recipient("b");
  outbox.push(a, JSON.stringify({ n: 1 }));
  outbox.push(b, JSON.stringify({ n: 2 }));
  outbox.push(a, JSON.stringify({ n: 3 }));
  const { frames, count } = drainAll(outbox);
  assert.equal(count, 2);
  assert.equal(frames.length, 2);
  const [fa, fb] = frames;
  assert.equal(fa[0], a.peer);
  assert.equal(fa[1], PROTOCOL_VERSION);
  assert.deepEqual(JSON.parse(fa[2]), [{ n: 1 }, { n: 3 }]);
  assert.equal(fb[0], b.peer);
  assert.equal(fb[1], PROTOCOL_VERSION);
  assert.deepEqual(JSON.parse(fb[2]), [{ n: 2 }]);
});

Deno.test("outbox.drain() empties the outbox", () => {
  const outbox = new Outbox();
  assert.deepEqual(drainAll(outbox), { frames: [], count: 0 });
  outbox.push(recipient("a"), "1");
  assert.equal(drainAll(outbox).count, 1);
  assert.deepEqual(drainAll(outbox), { frames: [], count: 0 });
});

Deno.test("outbox.drain() splits a batch over MAX_BATCH messages", async (t) => {
  await t.step("exactly MAX_BATCH is one frame", () => {
    const outbox = new Outbox();
    for (let i = 0; i < MAX_BATCH; i++) outbox.push(recipient("a"), String(i));
    const { frames } = drainAll(outbox);
    assert.equal(frames.length, 1);
    assert.equal(JSON.parse(frames[0][2]).length, MAX_BATCH);
  });
  await t.step("2 * MAX_BATCH + 1 is three frames, in order", () => {
    const outbox = new Outbox();
    const total = 2 * MAX_BATCH + 1;
    for (let i = 0; i < total; i++) outbox.push(recipient("a"), String(i));
    const { frames, count } = drainAll(outbox);
    assert.equal(count, 3);
    const bodies: number[][] = frames.map((f) => JSON.parse(f[2]));
    assert.deepEqual(bodies.map((b) => b.length), [MAX_BATCH, MAX_BATCH, 1]);
    assert.deepEqual(bodies.flat(), Array.from({ length: total }, (_, i) => i));
    assert.ok(frames.every((f) => f[1] === PROTOCOL_VERSION));
  });
});

Deno.test("outbox.drain() splits a batch over the character cap", async (t) => {
  // Each message is a JSON string of about a quarter of the cap.
  const quarter = (i: number) => JSON.stringify(String(i).padEnd(MAX_FRAME_CHARS / 4 - 2, "z"));

  await t.step("four quarters fit in one frame", () => {
    const outbox = new Outbox();
    for (let i = 0; i < 4; i++) outbox.push(recipient("a"), quarter(i));
    assert.equal(drainAll(outbox).count, 1);
  });
  await t.step("five quarters need two frames, every message once and in order", () => {
    const outbox = new Outbox();
    for (let i = 0; i < 5; i++) outbox.push(recipient("a"), quarter(i));
    const { frames } = drainAll(outbox);
    assert.equal(frames.length, 2);
    const bodies: string[][] = frames.map((f) => JSON.parse(f[2]));
    assert.deepEqual(bodies.map((b) => b.length), [4, 1]);
    assert.deepEqual(bodies.flat().map((s) => Number.parseInt(s)), [0, 1, 2, 3, 4]);
    for (const frame of frames) assert.ok(frame[2].length <= MAX_FRAME_CHARS + 1 + 4);
  });
  await t.step("a message larger than the cap goes alone", () => {
    const outbox = new Outbox();
    const big = JSON.stringify("y".repeat(MAX_FRAME_CHARS + 10));
    outbox.push(recipient("a"), "1");
    outbox.push(recipient("a"), big);
    outbox.push(recipient("a"), "2");
    const { frames } = drainAll(outbox);
    assert.deepEqual(frames.map((f) => JSON.parse(f[2]).length), [1, 1, 1]);
    assert.equal(JSON.parse(frames[1][2])[0].length, MAX_FRAME_CHARS + 10);
  });
  await t.step("only the peer over its cap is split", () => {
    const outbox = new Outbox();
    for (let i = 0; i < 5; i++) outbox.push(recipient("a"), quarter(i));
    outbox.push(recipient("b"), "1");
    const { frames } = drainAll(outbox);
    const perPeer = frames.map((f) => new TextDecoder().decode(f[0]));
    assert.deepEqual(perPeer, ["a", "a", "b"]);
  });
});

Deno.test("outbox.discard() forgets everything queued", () => {
  const outbox = new Outbox();
  outbox.push(recipient("a"), "1");
  outbox.push(recipient("b"), "2");
  outbox.discard();
  assert.equal(drainAll(outbox).count, 0);
  outbox.push(recipient("a"), "3");
  assert.deepEqual(JSON.parse(drainAll(outbox).frames[0][2]), [3]);
});

Deno.test("Outbox.drain() joins a body once for peers that get the same events", () => {
  const outbox = new Outbox();
  const shared = ['{"type":"message","id":1}', '{"type":"message","id":2}'];
  const peers = ["a", "b", "c"].map((id) => ({ id, peer: new TextEncoder().encode(id) }));
  for (const to of peers) for (const part of shared) outbox.push(to, part);
  outbox.push(peers[2], '{"type":"presence"}');
  const bodies: string[] = [];
  outbox.drain((_to, [, body]) => bodies.push(body));
  assert.equal(bodies[0], bodies[1]);
  assert.deepEqual(JSON.parse(bodies[0]).map((m: { id: number }) => m.id), [1, 2]);
  assert.equal(JSON.parse(bodies[2]).length, 3, "a peer with one more event gets its own body");
});

Deno.test("outbox.push() drops what is over a peer's turn budget and reports the peer", () => {
  const outbox = new Outbox();
  const greedy = recipient("greedy");
  const other = recipient("other");
  const chunk = "x".repeat(1024 * 1024);
  for (let i = 0; i < PEER_TURN_CHARS / chunk.length; i++) outbox.push(greedy, chunk);
  assert.equal(outbox.isOverBudget(greedy.id), false, "exactly the budget is allowed");
  outbox.push(greedy, "y");
  outbox.push(other, JSON.stringify({ n: 1 }));
  assert.equal(outbox.isOverBudget(greedy.id), true);
  assert.deepEqual(outbox.takeOverBudget(), [greedy]);
  assert.equal(outbox.chars, JSON.stringify({ n: 1 }).length, "the greedy peer's queue is gone");
  const { frames } = drainAll(outbox);
  assert.deepEqual(frames.map(([peer]) => new TextDecoder().decode(peer)), ["other"]);
  assert.equal(outbox.isOverBudget(greedy.id), false, "a new turn starts with a new budget");
});
