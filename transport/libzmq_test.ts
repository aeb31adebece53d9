// Tests of the libzmq FFI binding against zeromq.js DEALERs on loopback: messages, the connection
// each came over (ZMQ_SRCFD, with and without CURVE), and the errors a ROUTER's sends report.

import assert from "node:assert/strict";
import { curveKeyPair, Dealer } from "zeromq";
import { openContext, ZMQ_ROUTER, type ZmqError, ZmqOption, type ZmqSocket } from "./libzmq.ts";
import { connectionsOnPort } from "./peer_sockets.ts";
import { enableConnectionNotices } from "./routing_ids.ts";
import { startSocketLoop } from "./socket_loop.ts";

/** Receives the next message, polling every 10 ms; bounded in count and time (10 s). */
async function next(socket: ZmqSocket): Promise<Uint8Array[]> {
  for (let i = 0; i < 1000; i++) {
    if (socket.readable) return socket.receive();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("Timed out waiting for a message");
}

const text = (frames: Uint8Array[]) => frames.map((f) => new TextDecoder().decode(f));

for (const curve of [false, true]) {
  Deno.test(`ZmqSocket names the connection each message came over (${curve ? "CURVE" : "NULL"})`, async () => {
    const context = openContext();
    const router = context.socket(ZMQ_ROUTER);
    const server = curveKeyPair();
    const client = curveKeyPair();
    const dealer = new Dealer({
      linger: 0,
      receiveTimeout: 0,
      sendTimeout: 0,
      ...(curve
        ? {
          curveServerKey: server.publicKey,
          curvePublicKey: client.publicKey,
          curveSecretKey: client.secretKey,
        }
        : {}),
    });
    const replies: Uint8Array[][] = [];
    // zeromq.js's own waiting loses wake-ups under Deno (readiness.ts): the loop drives the DEALER.
    const loop = startSocketLoop(dealer, { onMessage: (frames) => void replies.push(frames) }, {
      checkWritable: true,
    });
    try {
      router.setInt32Option(ZmqOption.LINGER, 0);
      router.setInt32Option(ZmqOption.ROUTER_MANDATORY, 1);
      assert.equal(enableConnectionNotices(router), true);
      if (curve) {
        router.setInt32Option(ZmqOption.CURVE_SERVER, 1);
        router.setStringOption(ZmqOption.CURVE_SECRETKEY, server.secretKey);
      }
      router.bind("tcp://127.0.0.1:*");
      const port = Number(router.lastEndpoint.split(":").at(-1));
      dealer.connect(router.lastEndpoint);
      loop.send(["chatz/1", "hello"]);
      const notice = await next(router);
      assert.deepEqual(notice.slice(1).map((f) => f.byteLength), [0], "the connect notice first");
      assert.equal(router.sourceFd, -1, "a notice carries no connection");
      const message = await next(router);
      assert.deepEqual(text(message.slice(1)), ["chatz/1", "hello"]);
      const [connection, ...others] = connectionsOnPort(port);
      assert.deepEqual(others, [], "one connection on the port");
      assert.equal(router.sourceFd, connection.fd, "ZMQ_SRCFD is that connection's descriptor");

      router.send([message[0], "chatz/1", "back"]);
      for (let i = 0; i < 1000 && replies.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(replies.map(text), [["chatz/1", "back"]]);
      assert.throws(
        () => router.send([new Uint8Array([0, 1, 2, 3, 4]), "nobody"]),
        (error: ZmqError) => error.code === "EHOSTUNREACH",
        "ROUTER_MANDATORY: an unknown peer is an error",
      );
    } finally {
      await loop.close();
      router.close();
      await context.term();
    }
  });
}
