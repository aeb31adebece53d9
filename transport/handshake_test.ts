// Tests of the handshake watch's greeting probe against real ZeroMQ ROUTER sockets on loopback:
// the mechanism a server speaks is read from its greeting, whatever the client's own mode.

import assert from "node:assert/strict";
import { curveKeyPair, Router } from "zeromq";
import { probeGreeting, probeMechanism } from "./handshake.ts";
import { curveServerOptions } from "./curve.ts";

/** A bound ROUTER and its endpoint; closed by the caller. */
async function router(curve: boolean): Promise<{ socket: Router; endpoint: string }> {
  const socket = new Router({
    linger: 0,
    ...(curve ? curveServerOptions(curveKeyPair().secretKey) : {}),
  });
  await socket.bind("tcp://127.0.0.1:*");
  return { socket, endpoint: socket.lastEndpoint! };
}

Deno.test("probeMechanism() reads the mechanism from the server's greeting", async (t) => {
  const plain = await router(false);
  const curve = await router(true);
  try {
    await t.step("a plaintext server speaks NULL", async () => {
      assert.equal(await probeMechanism(plain.endpoint), "NULL");
    });
    await t.step("a CURVE server speaks CURVE", async () => {
      assert.equal(await probeMechanism(curve.endpoint), "CURVE");
    });
    await t.step("a source address before the ';' is skipped", async () => {
      const port = curve.endpoint.split(":").pop();
      assert.equal(await probeMechanism(`tcp://127.0.0.1:0;127.0.0.1:${port}`), "CURVE");
    });
    await t.step("no listener, or not TCP: no answer", async () => {
      const port = plain.endpoint.split(":").pop();
      plain.socket.close();
      assert.equal(await probeMechanism(`tcp://127.0.0.1:${port}`), undefined);
      assert.equal(await probeMechanism("ipc:///tmp/chatz-none.sock"), undefined);
      assert.equal(await probeMechanism("tcp://127.0.0.1:99999"), undefined);
    });
    await t.step("probeGreeting() tells a refused connection from no answer", async () => {
      const port = plain.endpoint.split(":").pop();
      assert.deepEqual(await probeGreeting(`tcp://127.0.0.1:${port}`), { kind: "refused" });
      assert.deepEqual(await probeGreeting("ipc:///tmp/chatz-none.sock"), { kind: "none" });
      assert.deepEqual(await probeGreeting(curve.endpoint), {
        kind: "mechanism",
        mechanism: "CURVE",
      });
    });
  } finally {
    if (!plain.socket.closed) plain.socket.close();
    curve.socket.close();
  }
});
