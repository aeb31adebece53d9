// Tests of the socket loop against real ZeroMQ sockets on loopback: a flood must not starve timers,
// and a handler can end a burst early so that its batched output goes out before more is read.

import assert from "node:assert/strict";
import { Dealer, Router } from "zeromq";
import { type SocketLoopHandlers, startSocketLoop } from "./socket_loop.ts";

const FLOOD = 20_000;

/**
 * Queues FLOOD frames from a DEALER to a ROUTER, then runs a loop with `handlers` on the ROUTER until
 * every frame has arrived; `started` runs at the first frame.
 */
async function receiveFlood(
  handlers: SocketLoopHandlers,
  started: () => void = () => {},
): Promise<void> {
  const router = new Router({
    receiveTimeout: 0,
    sendTimeout: 0,
    linger: 0,
    receiveHighWaterMark: FLOOD * 2,
  });
  await router.bind("tcp://127.0.0.1:*");
  const dealer = new Dealer({
    receiveTimeout: 0,
    sendTimeout: 0,
    linger: 0,
    sendHighWaterMark: FLOOD * 2,
  });
  dealer.connect(router.lastEndpoint!);
  const sender = startSocketLoop(dealer, { onMessage() {} }, { checkWritable: true });
  for (let i = 0; i < FLOOD; i++) sender.send([`m${i}`]);
  // The flood goes to libzmq once the connection is up; start receiving after that.
  for (let i = 0; i < 1000 && sender.pending > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(sender.pending, 0, "the flood was never handed to libzmq");
  let handled = 0;
  const all = Promise.withResolvers<void>();
  const loop = startSocketLoop(router, {
    ...handlers,
    onMessage(frames) {
      if (handled === 0) started();
      if (++handled === FLOOD) all.resolve();
      return handlers.onMessage(frames);
    },
  }, { checkWritable: false });
  const deadline = setTimeout(
    () => all.reject(new Error(`only ${handled} frames arrived`)),
    30_000,
  );
  try {
    await all.promise.finally(() => clearTimeout(deadline));
  } finally {
    await loop.close();
    await sender.close();
  }
}

Deno.test("a socket loop under a flood lets timers run long before the flood ends", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  let handled = 0;
  let handledWhenTimerRan = -1;
  await receiveFlood(
    { onMessage: () => void handled++ },
    () => setTimeout(() => handledWhenTimerRan = handled, 0),
  );
  assert.ok(handledWhenTimerRan >= 0, "the timer never ran during the flood");
  assert.ok(
    handledWhenTimerRan < FLOOD / 2,
    `the timer ran only after ${handledWhenTimerRan} of ${FLOOD} frames`,
  );
});

Deno.test("a handler returning true ends the burst: onDrained runs before more is received", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const TURN = 10;
  let inBurst = 0;
  let largest = 0;
  let drains = 0;
  await receiveFlood({
    onMessage: () => ++inBurst === TURN,
    onDrained() {
      largest = Math.max(largest, inBurst);
      inBurst = 0;
      drains++;
    },
  });
  assert.equal(largest, TURN, `a burst handled ${largest} frames; the handler asked for ${TURN}`);
  assert.ok(drains >= FLOOD / TURN, `only ${drains} bursts for ${FLOOD} frames`);
});
