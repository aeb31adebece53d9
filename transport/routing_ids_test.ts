// Tests of the routing-id helpers: which ids libzmq makes, what a connection notice looks like, and
// that this zeromq.js build takes the notice option.

import assert from "node:assert/strict";
import { Router } from "zeromq";
import {
  enableConnectionNotices,
  isAutoRoutingId,
  isConnectionNotice,
  seedRoutingIdCounter,
} from "./routing_ids.ts";

Deno.test("isAutoRoutingId() accepts only a zero byte and four more", () => {
  assert.equal(isAutoRoutingId(new Uint8Array([0, 0xe4, 0x3c, 0x98, 0x69])), true);
  assert.equal(isAutoRoutingId(new Uint8Array([1, 0xe4, 0x3c, 0x98, 0x69])), false);
  assert.equal(isAutoRoutingId(new Uint8Array([0, 1, 2, 3])), false);
  assert.equal(isAutoRoutingId(new Uint8Array([0, 1, 2, 3, 4, 5])), false);
  assert.equal(isAutoRoutingId(new TextEncoder().encode("alice")), false);
});

Deno.test("isConnectionNotice() is one empty frame and nothing else", () => {
  assert.equal(isConnectionNotice([new Uint8Array(0)]), true);
  assert.equal(isConnectionNotice([new Uint8Array(1)]), false);
  assert.equal(isConnectionNotice([new Uint8Array(0), new Uint8Array(0)]), false);
  assert.equal(isConnectionNotice([]), false);
});

Deno.test("enableConnectionNotices() is supported by the pinned zeromq.js", () => {
  seedRoutingIdCounter();
  const router = new Router({ linger: 0 });
  try {
    assert.equal(enableConnectionNotices(router), true);
  } finally {
    router.close();
  }
});
