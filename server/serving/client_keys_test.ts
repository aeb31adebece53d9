// Tests of the client key table: lookups by Z85 text, the newest handshake's address, eviction.
// Pure data: keys are made here, no socket is opened.

import assert from "node:assert/strict";
import { decodeZ85 } from "../../protocol/curve.ts";
import { createClientKeys } from "./client_keys.ts";

const A = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const B = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const C = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

Deno.test("client keys: a key's address is its latest handshake's; text that is no key finds nothing", () => {
  const keys = createClientKeys();
  keys.remember(decodeZ85(A), "10.0.0.1");
  assert.equal(keys.addressOf(A), "10.0.0.1");
  keys.remember(decodeZ85(A), "10.0.0.9"); // the same client, moved
  assert.equal(keys.addressOf(A), "10.0.0.9");
  assert.equal(keys.addressOf(B), undefined, "never seen");
  assert.equal(keys.addressOf("not a key"), undefined);
  keys.remember(new Uint8Array(31), "10.0.0.2"); // not a CURVE key: ignored
  keys.remember(undefined, "10.0.0.3"); // a NULL handshake has none
  assert.equal(keys.size, 1);
});

Deno.test("client keys: past the limit the key seen longest ago is forgotten", () => {
  const keys = createClientKeys(2);
  keys.remember(decodeZ85(A), "10.0.0.1");
  keys.remember(decodeZ85(B), "10.0.0.2");
  keys.remember(decodeZ85(A), "10.0.0.1"); // seen again: now the newest
  keys.remember(decodeZ85(C), "10.0.0.3");
  assert.equal(keys.addressOf(B), undefined, "B was seen longest ago");
  assert.equal(keys.addressOf(A), "10.0.0.1");
  assert.equal(keys.addressOf(C), "10.0.0.3");
  assert.equal(keys.size, 2);
});
