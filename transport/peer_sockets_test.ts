// Tests of peersOnPort() against real loopback TCP connections of this process.

import assert from "node:assert/strict";
import { peersOnPort } from "./peer_sockets.ts";

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
