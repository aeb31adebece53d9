// Tests of the socket loop against real ZeroMQ sockets on loopback: a flood must not starve timers.
// The loop yields after every RECEIVE_BUDGET frames; a timer set at the start must run mid-flood.

import assert from "node:assert/strict";
import { Dealer, Router } from "zeromq";
import { startSocketLoop } from "./socket_loop.ts";

const FLOOD = 20_000;

Deno.test("a socket loop under a flood lets timers run long before the flood ends", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
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
  let handledWhenTimerRan = -1;
  const started = Promise.withResolvers<void>();
  const loop = startSocketLoop(router, {
    onMessage() {
      if (handled === 0) started.resolve();
      if (++handled === FLOOD) all.resolve();
    },
  }, { checkWritable: false });
  try {
    await started.promise;
    setTimeout(() => handledWhenTimerRan = handled, 0);
    const deadline = setTimeout(
      () => all.reject(new Error(`only ${handled} frames arrived`)),
      30_000,
    );
    await all.promise.finally(() => clearTimeout(deadline));
    assert.ok(handledWhenTimerRan >= 0, "the timer never ran during the flood");
    assert.ok(
      handledWhenTimerRan < FLOOD / 2,
      `the timer ran only after ${handledWhenTimerRan} of ${FLOOD} frames`,
    );
  } finally {
    await loop.close();
    await sender.close();
  }
});
