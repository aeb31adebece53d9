// Runs the transport contract on the ZeroMQ ROUTER transport (libzmq through FFI), with zeromq.js
// DEALER clients on loopback.

import { Dealer } from "zeromq";
import { openContext, ZMQ_ROUTER, ZmqOption } from "../../transport/libzmq.ts";
import { enableConnectionNotices } from "../../transport/routing_ids.ts";
import { startSocketLoop } from "../../transport/socket_loop.ts";
import { runTransportContract, type TestClient } from "./peer_transport_contract.ts";
import { startRouterTransport } from "./router_transport.ts";

runTransportContract("ROUTER", (events) => {
  const context = openContext();
  const router = context.socket(ZMQ_ROUTER);
  router.setInt32Option(ZmqOption.LINGER, 0);
  router.setInt32Option(ZmqOption.ROUTER_MANDATORY, 1);
  enableConnectionNotices(router);
  router.bind("tcp://127.0.0.1:*");
  const transport = startRouterTransport(router, events);
  const endpoint = router.lastEndpoint;
  return Promise.resolve({
    transport,
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
  });
});
