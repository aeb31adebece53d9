// Tests of peersOnPort(), connectionsOnPort() and shutdownConnection() against real loopback TCP
// connections of this process.

import assert from "node:assert/strict";
import { connectionsOnPort, peersOnPort, shutdownConnection } from "./peer_sockets.ts";

Deno.test("peersOnPort() counts the connections accepted on one port by peer address", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const clients: Deno.Conn[] = [];
  const accepted: Deno.Conn[] = [];
  try {
    assert.deepEqual(peersOnPort(port), new Map(), "a listener is not a connection");
    for (let i = 0; i < 3; i++) {
      clients.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      accepted.push(await listener.accept());
    }
    clients.push(await Deno.connect({ hostname: "127.0.0.1", port: other.addr.port }));
    accepted.push(await other.accept());
    assert.deepEqual(peersOnPort(port), new Map([["127.0.0.1", 3]]), "only this port's");
    accepted.shift()!.close();
    assert.deepEqual(peersOnPort(port), new Map([["127.0.0.1", 2]]));
  } finally {
    for (const conn of [...clients, ...accepted]) conn.close();
    listener.close();
    other.close();
  }
});

/** The kernel keeps TCP times in jiffies (1 to 10 ms): its idle figures may be off by that much. */
const JIFFY_SLACK_MS = 20;
/** How long the test connection stays silent before it is looked at. */
const SILENT_MS = 300;

Deno.test("connectionsOnPort() tells how long a connection has received nothing; shutdownConnection() ends it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  const accepted = await listener.accept();
  const opened = performance.now();
  try {
    // Silent towards the server; data the server SENDS must not count as received.
    await new Promise((resolve) => setTimeout(resolve, SILENT_MS));
    await accepted.write(new Uint8Array([1]));
    const [peer, ...others] = connectionsOnPort(port);
    const elapsed = performance.now() - opened;
    assert.deepEqual(others, [], "only the accepted end is on this port");
    assert.equal(peer.address, "127.0.0.1");
    const clientPort = (client.localAddr as Deno.NetAddr).port;
    assert.equal(peer.peer, `127.0.0.1:${clientPort}`, "address and port name the connection");
    assert.ok(peer.idleMs >= SILENT_MS - JIFFY_SLACK_MS, `idle ${peer.idleMs} ms`);
    assert.ok(peer.idleMs <= elapsed + JIFFY_SLACK_MS, `idle ${peer.idleMs} of ${elapsed} ms`);

    const sent = performance.now();
    await client.write(new Uint8Array([2]));
    assert.equal(await accepted.read(new Uint8Array(8)), 1);
    const [fresh] = connectionsOnPort(port);
    assert.ok(fresh.idleMs <= performance.now() - sent + JIFFY_SLACK_MS, "data received counts");

    const other = { fd: peer.fd, peer: `127.0.0.1:${clientPort + 1}` };
    assert.equal(shutdownConnection(other, port), false, "checked again: another peer port");
    assert.equal(shutdownConnection(peer, port + 1), false, "checked again: another local port");
    assert.equal(shutdownConnection(peer, port), true);
    // The owner of the descriptor reads EOF; the peer reads what was sent, then EOF.
    assert.equal(await accepted.read(new Uint8Array(8)), null);
    const buffer = new Uint8Array(8);
    assert.equal(await client.read(buffer), 1);
    assert.equal(await client.read(buffer), null);
    assert.deepEqual(connectionsOnPort(port), [], "a shut connection is no longer listed");
  } finally {
    client.close();
    accepted.close();
    listener.close();
  }
});
