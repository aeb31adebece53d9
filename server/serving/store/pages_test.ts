// Tests of history pages' client message id column: runs written for counting ids, and every
// form of the column read back as the ids each message was stored with.

import assert from "node:assert/strict";
import { cidEntries, type PendingPage, stageMessage } from "./pages.ts";
import { newClientIdSplit, splitClientId } from "../client_ids.ts";
import type { NewMessage } from "./store.ts";
import { parseStoredClientId } from "../shared_state.ts";

const message = (cid: string | undefined): NewMessage => ({
  ts: 1_700_000_000_000,
  conv: "p",
  scope: "public",
  from: "alice",
  to: undefined,
  group: undefined,
  action: false,
  text: "hi",
  cid,
});

/**
 * Stages one message per stored cid on one page, split as the chat core splits them (or not, with
 * `split` false); the page and the cids as the column reads back.
 */
function roundTrip(
  cids: (string | undefined)[],
  split = true,
): { page: PendingPage; read: (string | null)[] } {
  const pending = new Map<string, PendingPage>();
  const splitter = newClientIdSplit();
  cids.forEach((cid, i) => {
    const draft = message(cid);
    const parts = cid === undefined ? undefined : parseStoredClientId(cid);
    if (split && parts) {
      splitClientId(splitter, parts.send, parts.cid);
      draft.cidStem = splitter.stem;
      draft.cidCounter = splitter.counter;
    }
    stageMessage(pending, i + 1, draft, () => assert.fail("the page is full"));
  });
  const page = pending.get("p")!;
  const read = new Array<string | null>(cids.length).fill(null);
  if (page.cids) {
    for (const [index, cid] of cidEntries(JSON.stringify(page.cids))) read[index] = cid;
  }
  return { page, read };
}

Deno.test("a page's cids read back as staged, whatever their shape and order", () => {
  const cids = [
    undefined,
    "0:3f9c1a7e-1", // a run of the bundled client's ids
    "0:3f9c1a7e-2",
    "0:3f9c1a7e-3",
    "1:3f9c1a7e-3", // the command's second send: another stem
    "0:3f9c1a7e-5", // a gap
    "0:3f9c1a7e-6",
    "0:77aa01be-7", // another connection, the next counter
    "0:77aa01be-08", // a leading zero is not 8
    "0:77aa01be-9",
    "0:x-0",
    "0:x-1",
    undefined,
    "0:x-2",
    "0:x-1234567890", // more digits than a counter holds
    "0:x-1234567891",
    "0:x-1999999999",
    "0:x-2000000000",
    "0:hello",
    "0:hello",
    "0:9",
    "0:10",
    '0:["quoted"]-3',
    undefined,
  ];
  for (const split of [true, false]) {
    const { read } = roundTrip(cids, split);
    assert.deepEqual(read, cids.map((cid) => cid ?? null), split ? "split" : "not split");
  }
});

Deno.test("a client's counting ids take one run per page, not one string per message", () => {
  const cids = Array.from({ length: 256 }, (_, i) => `0:3f9c1a7e-${i + 95}`);
  const { page, read } = roundTrip(cids);
  assert.deepEqual(page.cids, [["0:3f9c1a7e-", 95, 256]]);
  assert.deepEqual(read, cids);
});

Deno.test("a page's cids written in older forms still read", () => {
  assert.deepEqual(cidEntries('[[1,"0:ab-1"],[3,"0:ab-2"]]'), [[1, "0:ab-1"], [3, "0:ab-2"]]);
  assert.deepEqual(cidEntries('[null,"0:ab-1","0:ab-2"]'), [[1, "0:ab-1"], [2, "0:ab-2"]]);
  assert.deepEqual(cidEntries('[["0:a-",7,2],null,"0:b"]'), [[0, "0:a-7"], [1, "0:a-8"], [
    3,
    "0:b",
  ]]);
  assert.throws(() => cidEntries('[{"x":1}]'), /unknown entry/);
  assert.throws(() => cidEntries('[["0:a-",1,100000]]'), /unknown entry/, "a run past a page");
});
