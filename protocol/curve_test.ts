// Unit tests of the CURVE key format and the default key endpoint.
// Pure functions: no sockets.

import assert from "node:assert/strict";
import { decodeZ85, isCurveKey, keyEndpointFor } from "./curve.ts";

Deno.test("decodeZ85() decodes RFC 32's example and refuses what is not Z85", () => {
  assert.deepEqual(
    decodeZ85("HelloWorld"),
    new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]),
  );
  assert.throws(() => decodeZ85("HelloW"), /length 6/);
  assert.throws(() => decodeZ85("Hell~"), /bad character "~"/);
  assert.throws(() => decodeZ85("#####"), /"#####"/); // 85^5 - 1 is over 32 bits
});

Deno.test("isCurveKey() accepts 40 Z85 characters only", () => {
  assert.equal(isCurveKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"), true);
  assert.equal(isCurveKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf"), false);
  assert.equal(isCurveKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]y 7"), false);
  assert.equal(isCurveKey(""), false);
});

Deno.test("keyEndpointFor() is the same host with port + 1, and keeps a wildcard", () => {
  assert.equal(keyEndpointFor("tcp://chat.example.org:5555"), "tcp://chat.example.org:5556");
  assert.equal(keyEndpointFor("tcp://0.0.0.0:5555"), "tcp://0.0.0.0:5556");
  assert.equal(keyEndpointFor("tcp://[::1]:5555"), "tcp://[::1]:5556");
  assert.equal(keyEndpointFor("tcp://127.0.0.1:*"), "tcp://127.0.0.1:*");
  assert.equal(keyEndpointFor("tcp://127.0.0.1:0"), "tcp://127.0.0.1:*");
  assert.equal(keyEndpointFor("tcp://127.0.0.1:65535"), undefined);
  assert.equal(keyEndpointFor("ipc:///tmp/chatz.sock"), undefined);
  assert.equal(keyEndpointFor("chat.example.org:5555"), undefined);
});
