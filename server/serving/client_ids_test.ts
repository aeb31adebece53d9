// Tests of client message ids split as a stem and a counter.

import assert from "node:assert/strict";
import { newClientIdSplit, splitClientId } from "./client_ids.ts";

Deno.test("splitClientId keeps one stem string while a client's ids come", () => {
  const split = newClientIdSplit();
  splitClientId(split, 0, "3f9c1a7e-41");
  const stem = split.stem;
  assert.deepEqual([stem, split.counter], ["0:3f9c1a7e-", 41]);
  splitClientId(split, 0, "3f9c1a7e-42");
  assert.ok(split.stem === stem && split.counter === 42);
  splitClientId(split, 1, "3f9c1a7e-42");
  assert.deepEqual([split.stem, split.counter], ["1:3f9c1a7e-", 42]);
  splitClientId(split, 1, "3f9c1a7e-042");
  assert.equal(split.stem, undefined, "a leading zero: no counter");
  splitClientId(split, 1, "3f9c1a7e-");
  assert.equal(split.stem, undefined);
  splitClientId(split, 0, "x-12345678901");
  assert.deepEqual([split.stem, split.counter], ["0:x-12", 345678901]);
});
