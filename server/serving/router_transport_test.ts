// Runs the transport contract on the ZeroMQ ROUTER transport (libzmq through FFI), with zeromq.js
// DEALER clients on loopback, and checks what only it does: naming each peer's TCP connection.

import assert from "node:assert/strict";
import { Dealer } from "zeromq";
import { openContext, ZMQ_ROUTER, ZmqOption } from "../../transport/libzmq.ts";
import { connectionsOnPort } from "../../transport/peer_sockets.ts";
import { enableConnectionNotices } from "../../transport/routing_ids.ts";
import { startSocketLoop } from "../../transport/socket_loop.ts";
import { runTransportContract, type TestClient } from "./peer_transport_contract.ts";
import type { Recipient, TransportEvents } from "./peer_transport.ts";
import { type RouterTransport, startRouterTransport } from "./router_transport.ts";

/** A ROUTER transport on a free loopback port, and DEALER clients for it. */
function startSite(events: TransportEvents) {
  const context = openContext();
  const router = context.socket(ZMQ_ROUTER);
  router.setInt32Option(ZmqOption.LINGER, 0);
  router.setInt32Option(ZmqOption.ROUTER_MANDATORY, 1);
  enableConnectionNotices(router);
  router.bind("tcp://127.0.0.1:*");
  const transport: RouterTransport = startRouterTransport(router, events);
  const endpoint = router.lastEndpoint;
  return {
    transport,
    port: Number(endpoint.slice(endpoint.lastIndexOf(":") + 1)),
    connect(): Promise<TestClient> {
      const dealer = new Dealer({ receiveTimeout: 0, sendTimeout: 0, linger: 0 });
      const received: string[][] = [];
      const decoder = new TextDecoder();
      const loop = startSocketLoop(dealer, {
        onMessage: (frames) => void received.push(frames.map((f) => decoder.decode(f))),
      }, { checkWritable: true });
      dealer.connect(endpoint);
      return Promise.resolve({
        send: (frames) => loop.send(frames),
        received,
        close: () => loop.close(),
      });
    },
    close: async () => {
      await transport.close();
      await context.term();
    },
  };
}

runTransportContract("ROUTER", (events) => Promise.resolve(startSite(events)));

/** Polls `check` every 10 ms until it holds; bounded in count and time (10 s). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("startRouterTransport() names each peer's TCP connection until its end notice", async () => {
  let from: Recipient | undefined;
  let ended = false;
  const site = startSite({
    received: (peer) => void (from = peer),
    connectionChanged: (peer) => void (ended ||= peer.id === from?.id),
    drained() {},
    sendFailed() {},
    handlerError(error) {
      throw error;
    },
  });
  try {
    const client = await site.connect();
    client.send(["chatz/1", "hello"]);
    await until(() => from !== undefined, "the message");
    const [connection, ...others] = connectionsOnPort(site.port);
    assert.deepEqual(others, [], "one connection");
    assert.equal(site.transport.fdOf(from!.id), connection.fd);
    assert.equal(site.transport.peerOn(connection.fd), from!.id);
    await client.close();
    await until(() => ended, "the end notice");
    assert.equal(site.transport.fdOf(from!.id), undefined, "forgotten at its end");
    assert.equal(site.transport.peerOn(connection.fd), undefined);
  } finally {
    await site.close();
  }
});
