// Tests of trusting a server's CURVE key when --server lists several nodes of one cluster: real key
// endpoints on loopback, a real known-servers file in a temporary folder.

import assert from "node:assert/strict";
import { curveKeyPair } from "zeromq";
import { openKeyEndpoint } from "../server/main_thread/key_endpoint.ts";
import { closedPort, stablePort } from "../tests/ports.ts";
import { serverKeyMatches, type TrustError, trustServerKey } from "./curve_trust.ts";
import { lookupKnownServer, rememberServer } from "./known_servers.ts";

/** How long a key endpoint that is not there is waited for. */
const TIMEOUT_MS = 1500;

/** A chat endpoint whose key endpoint (port + 1) serves `key`, until closed. */
async function node(key: string) {
  const port = stablePort(2);
  const keys = await openKeyEndpoint(`tcp://127.0.0.1:${port + 1}`, key);
  return { endpoint: `tcp://127.0.0.1:${port}`, close: () => keys.close() };
}

/** A chat endpoint with nothing listening on its key endpoint. */
function deadNode(): string {
  return `tcp://127.0.0.1:${closedPort() - 1}`;
}

Deno.test("a list of cluster nodes is trusted on first use, as one server with one key", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "chatz-trust-" });
  const file = `${dir}/known_servers`;
  const key = curveKeyPair().publicKey;
  const [a, b] = [await node(key), await node(key)];
  const lines: string[] = [];
  const options = {
    knownServersFile: file,
    timeoutMs: TIMEOUT_MS,
    warn: (line: string) => lines.push(line),
  };
  try {
    await t.step("first use asks the nodes and remembers the key for each", async () => {
      const trusted = await trustServerKey({ ...options, server: `${a.endpoint},${b.endpoint}` });
      assert.equal(trusted.key, key);
      assert.equal(trusted.source, "first_use");
      assert.equal(lookupKnownServer(file, a.endpoint), key);
      assert.equal(lookupKnownServer(file, b.endpoint), key);
      assert.match(lines.join("\n"), /authenticity of server "tcp:\/\/127\.0\.0\.1:\d+,tcp:/);
    });
    await t.step("the next connect, in another order, knows it", async () => {
      const trusted = await trustServerKey({ ...options, server: `${b.endpoint}, ${a.endpoint}` });
      assert.deepEqual([trusted.key, trusted.source], [key, "known"]);
    });
    await t.step("a node that is down does not stop the trust of the others", async () => {
      await Deno.remove(file);
      const server = `${deadNode()},${b.endpoint}`;
      const trusted = await trustServerKey({ ...options, server });
      assert.equal(trusted.key, key);
      assert.equal(await serverKeyMatches(trusted, { server, timeoutMs: TIMEOUT_MS }), true);
    });
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nodes of one list that disagree on the key are refused, and nothing is remembered", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "chatz-trust-" });
  const file = `${dir}/known_servers`;
  const [a, b] = [await node(curveKeyPair().publicKey), await node(curveKeyPair().publicKey)];
  const options = { knownServersFile: file, timeoutMs: TIMEOUT_MS, warn: () => {} };
  const server = `${a.endpoint},${b.endpoint}`;
  try {
    await t.step("on first use: the nodes tell different keys", async () => {
      await assert.rejects(
        trustServerKey({ ...options, server }),
        (error: TrustError) =>
          error.code === "bad_server_key" && /nodes tell different CURVE keys/.test(error.message),
      );
      assert.equal(lookupKnownServer(file, a.endpoint), undefined);
    });
    await t.step("when remembered: the lines disagree", async () => {
      rememberServer(file, a.endpoint, curveKeyPair().publicKey);
      rememberServer(file, b.endpoint, curveKeyPair().publicKey);
      await assert.rejects(
        trustServerKey({ ...options, server }),
        (error: TrustError) =>
          error.code === "bad_server_key" &&
          /remembered with different CURVE keys/.test(error.message),
      );
    });
    await t.step("a key check fails when any node tells another key", async () => {
      const trusted = { key: curveKeyPair().publicKey, source: "known" as const, file };
      assert.equal(await serverKeyMatches(trusted, { server, timeoutMs: TIMEOUT_MS }), false);
    });
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
