// Runs the shared-state contract on the in-process implementation; tests the send-key helpers.

import assert from "node:assert/strict";
import { runSharedStateContract } from "./shared_state_contract.ts";
import { createLocalState } from "./local_state.ts";
import { parseSendKey, parseStoredClientId, sendKey } from "./shared_state.ts";

runSharedStateContract(
  "local",
  (limits) => Promise.resolve({ state: createLocalState(limits), close: () => Promise.resolve() }),
);

Deno.test("sendKey() and parseSendKey() carry a send between cluster nodes unchanged", () => {
  const cases: [string, number, string][] = [["alice", 0, "3f2a-7"], ["bob", 12, "a:b\u0000c"]];
  for (const [account, send, cid] of cases) {
    assert.equal(sendKey(account, send, cid), `${account}\u0000${send}:${cid}`);
    assert.deepEqual(parseSendKey(sendKey(account, send, cid)), { account, send, cid });
  }
  assert.deepEqual(parseStoredClientId("3:x:y"), { send: 3, cid: "x:y" });
  for (const bad of ["", "x", ":c", "-1:c", "1.5:c", "c1"]) {
    assert.equal(parseStoredClientId(bad), undefined, bad);
  }
  assert.equal(parseSendKey("alice0:c"), undefined, "no separator");
});
