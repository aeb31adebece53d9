// Tests of the endpoint list a client fails over across: commas, DNS names with several addresses.

import assert from "node:assert/strict";
import { expandEndpoints } from "./endpoints.ts";

const dns: Record<string, string[]> = {
  "chat.example.org": ["192.0.2.10", "192.0.2.11", "2001:db8::5"],
  "one.example.org": ["192.0.2.20"],
};
const resolve = (host: string) => Promise.resolve(dns[host] ?? []);

Deno.test("expandEndpoints() keeps a single endpoint as it is", async () => {
  assert.deepEqual(await expandEndpoints("tcp://127.0.0.1:5555", resolve), [
    "tcp://127.0.0.1:5555",
  ]);
  assert.deepEqual(await expandEndpoints("ipc:///tmp/chatz", resolve), ["ipc:///tmp/chatz"]);
});

Deno.test("expandEndpoints() splits a comma-separated list, in order, without repeats", async () => {
  assert.deepEqual(
    await expandEndpoints("tcp://10.0.0.1:5555, tcp://10.0.0.2:5555,,tcp://10.0.0.1:5555", resolve),
    ["tcp://10.0.0.1:5555", "tcp://10.0.0.2:5555"],
  );
});

Deno.test("expandEndpoints() turns a DNS name with several addresses into one endpoint each", async () => {
  assert.deepEqual(await expandEndpoints("tcp://chat.example.org:5555", resolve), [
    "tcp://192.0.2.10:5555",
    "tcp://192.0.2.11:5555",
    "tcp://[2001:db8::5]:5555",
  ]);
});

Deno.test("expandEndpoints() leaves a name with one address or none to libzmq", async () => {
  assert.deepEqual(
    await expandEndpoints("tcp://one.example.org:5555,tcp://unknown.example.org:5555", resolve),
    ["tcp://one.example.org:5555", "tcp://unknown.example.org:5555"],
  );
});
