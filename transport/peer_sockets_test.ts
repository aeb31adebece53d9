// Tests of peersOnPort(), idlePeers() and shutdownIdlePeer() against real loopback TCP connections
// of this process.

import assert from "node:assert/strict";
import { idlePeers, peersOnPort, shutdownIdlePeer } from "./peer_sockets.ts";

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

Deno.test("idlePeers() tells how long a connection has received nothing; shutdownIdlePeer() ends it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  const accepted = await listener.accept();
  const opened = performance.now();
  try {
    // Silent towards the server; data the server SENDS must not count as received.
    await new Promise((resolve) => setTimeout(resolve, SILENT_MS));
    await accepted.write(new Uint8Array([1]));
    const [peer, ...others] = idlePeers(port, 0);
    const elapsed = performance.now() - opened;
    assert.deepEqual(others, [], "only the accepted end is on this port");
    assert.equal(peer.address, "127.0.0.1");
    assert.ok(peer.idleMs >= SILENT_MS - JIFFY_SLACK_MS, `idle ${peer.idleMs} ms`);
    assert.ok(peer.idleMs <= elapsed + JIFFY_SLACK_MS, `idle ${peer.idleMs} of ${elapsed} ms`);
    assert.deepEqual(idlePeers(port, 3_600_000), [], "not idle for an hour");

    const sent = performance.now();
    await client.write(new Uint8Array([2]));
    assert.equal(await accepted.read(new Uint8Array(8)), 1);
    const [fresh] = idlePeers(port, 0);
    assert.ok(fresh.idleMs <= performance.now() - sent + JIFFY_SLACK_MS, "data received counts");

    assert.equal(
      shutdownIdlePeer(peer.fd, port, 3_600_000),
      false,
      "checked again: not idle enough",
    );
    assert.equal(shutdownIdlePeer(peer.fd, port + 1, 0), false, "checked again: another port");
    assert.equal(shutdownIdlePeer(peer.fd, port, 0), true);
    // The owner of the descriptor reads EOF; the peer reads what was sent, then EOF.
    assert.equal(await accepted.read(new Uint8Array(8)), null);
    const buffer = new Uint8Array(8);
    assert.equal(await client.read(buffer), 1);
    assert.equal(await client.read(buffer), null);
    assert.deepEqual(idlePeers(port, 0), [], "a shut connection is no longer listed");
  } finally {
    client.close();
    accepted.close();
    listener.close();
  }
});
