// Tests of message id order across nodes: what waits, what runs at once, and giving up on a gap.
// Pure bookkeeping over a fake clock; tests/cluster_test.ts runs it between real nodes.

import assert from "node:assert/strict";
import { createIdOrder } from "./id_order.ts";

function world(known = 0) {
  let time = 0;
  const runs: string[] = [];
  const order = createIdOrder(known, () => time);
  return {
    order,
    runs,
    log: (what: string) => () => runs.push(what),
    tick: (ms: number) => time += ms,
    get time() {
      return time;
    },
  };
}

Deno.test("createIdOrder() lets a turn's events through when every lower id is known", () => {
  const w = world(10);
  w.order.locked(10);
  assert.equal(w.order.holdBack(11, w.log("own 11")), false);
  w.order.committed(11);
  assert.equal(w.order.known, 11);
  w.order.arrived({ after: 11, last: 13 }, w.log("relayed 12-13"));
  assert.deepEqual(w.runs, ["relayed 12-13"]);
  assert.equal(w.order.known, 13);
  assert.equal(w.order.waiting, 0);
});

Deno.test("createIdOrder() holds a turn's events until the lower ids another node stored arrive", () => {
  const w = world(10);
  w.order.locked(11); // another node stored 11; its relay is still on the bus
  assert.equal(w.order.holdBack(12, w.log("own 12")), true);
  assert.equal(w.order.holdBack(12, w.log("own 12, second session")), true);
  w.order.committed(12);
  assert.deepEqual(w.runs, [], "nothing before 11 is known");
  w.order.arrived({ after: 10, last: 11 }, w.log("relayed 11"));
  assert.deepEqual(w.runs, ["relayed 11", "own 12", "own 12, second session"]);
  assert.equal(w.order.known, 12);
});

Deno.test("createIdOrder() keeps a turn that started waiting waiting, even when the ids below arrive mid-turn", () => {
  const w = world(10);
  w.order.locked(11);
  assert.equal(w.order.holdBack(12, w.log("own 12")), true);
  w.order.arrived({ after: 10, last: 11 }, w.log("relayed 11"));
  assert.equal(w.order.holdBack(13, w.log("own 13")), true, "after 12, not before it");
  w.order.committed(13);
  assert.deepEqual(w.runs, ["relayed 11", "own 12", "own 13"]);
});

Deno.test("createIdOrder() applies relayed turns in id order whatever order they arrive in", () => {
  const w = world(0);
  w.order.arrived({ after: 2, last: 3 }, w.log("3"));
  w.order.arrived({ after: 1, last: 2 }, w.log("2"));
  assert.deepEqual(w.runs, []);
  w.order.arrived({ after: 0, last: 1 }, w.log("1"));
  assert.deepEqual(w.runs, ["1", "2", "3"]);
  assert.equal(w.order.known, 3);
});

Deno.test("createIdOrder() drops a failed turn's held events; its events never run", () => {
  const w = world(10);
  w.order.locked(11);
  w.order.holdBack(12, w.log("own 12"));
  w.order.discard();
  w.order.arrived({ after: 10, last: 11 }, w.log("relayed 11"));
  assert.deepEqual(w.runs, ["relayed 11"]);
  assert.equal(w.order.holdBack(13, w.log("no turn open")), false);
});

Deno.test("createIdOrder() gives up on a missing range: catch-up from the last id known, then what waited", () => {
  const w = world(10);
  w.order.locked(12); // 11-12 were stored by a node that died before relaying them
  w.order.holdBack(13, w.log("own 13"));
  w.order.committed(13);
  const catchUp = (after: number, upTo: number) => {
    w.runs.push(`catch up after ${after} up to ${upTo}`);
  };
  w.tick(500);
  assert.equal(w.order.expire(w.time - 1000, catchUp), false, "not missing long enough");
  w.tick(1000);
  assert.equal(w.order.expire(w.time - 1000, catchUp), true);
  assert.deepEqual(w.runs, ["catch up after 10 up to 13", "own 13"]);
  assert.equal(w.order.known, 13);
  // The lost relay turns up after all: the sessions have it from the catch-up already.
  w.order.arrived({ after: 10, last: 12 }, w.log("late 11-12"));
  assert.deepEqual(w.runs.at(-1), "late 11-12");
  assert.equal(w.order.known, 13);
  assert.equal(w.order.expire(w.time, catchUp), false, "nothing waits");
});

Deno.test("createIdOrder() ignores a turn that locked the counter but took no id", () => {
  const w = world(10);
  w.order.locked(11); // 11 is another node's, still on the bus; this turn only counted
  w.order.committed(11);
  assert.equal(w.order.waiting, 0, "nothing of its own waits");
  w.order.locked(11); // the next turn locks at the same value and stores 12
  assert.equal(w.order.holdBack(12, w.log("own 12")), true);
  w.order.committed(12);
  w.order.arrived({ after: 10, last: 11 }, w.log("relayed 11"));
  assert.deepEqual(w.runs, ["relayed 11", "own 12"]);
  assert.equal(w.order.known, 12);
  assert.equal(w.order.waiting, 0);
});
