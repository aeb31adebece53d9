// Tests of the batch-size setter against a real zeromq.js socket: the options read back as set.
// The option numbers are libzmq's; a wrong one would be refused or read back differently.

import assert from "node:assert/strict";
import { Router } from "zeromq";
import { setBatchSize } from "./batch_size.ts";

Deno.test("setBatchSize() sets libzmq's read and write batch sizes of a socket", () => {
  const router = new Router({ linger: 0 });
  try {
    const options = router as unknown as { getInt32Option(option: number): number };
    assert.equal(options.getInt32Option(101), 8192, "libzmq's default read batch");
    assert.equal(setBatchSize(router, 1024), true);
    assert.equal(options.getInt32Option(101), 1024);
    assert.equal(options.getInt32Option(102), 1024);
  } finally {
    router.close();
  }
});

Deno.test("setBatchSize() reports false for something that is not a zeromq socket", () => {
  assert.equal(setBatchSize({}, 1024), false);
});
