// Tests of the first-use decision: the policies, and how a typed answer is read.
// The terminal question itself is exercised through a pseudo-terminal in tests/curve_test.ts.

import assert from "node:assert/strict";
import { decideFirstUse, judgeAnswer } from "./trust_prompt.ts";

const KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

Deno.test("judgeAnswer() reads yes, no and the key as SSH does", () => {
  assert.equal(judgeAnswer("yes\n", KEY), "yes");
  assert.equal(judgeAnswer("  YES ", KEY), "yes");
  assert.equal(judgeAnswer(KEY, KEY), "yes");
  assert.equal(judgeAnswer("no", KEY), "no");
  assert.equal(judgeAnswer("Nope-not-this-key-but-one-40-chars-long!", KEY), "no");
  assert.equal(judgeAnswer("y", KEY), "again");
  assert.equal(judgeAnswer("", KEY), "again");
});

Deno.test("decideFirstUse() follows the policy, and refuses without a terminal", async () => {
  assert.deepEqual(await decideFirstUse(KEY, "accept"), { trusted: true });
  assert.deepEqual(await decideFirstUse(KEY, "refuse"), {
    trusted: false,
    why: "--trust-on-first-use refuse",
  });
  if (!Deno.stdin.isTerminal()) {
    const decision = await decideFirstUse(KEY, undefined);
    assert.equal(decision.trusted, false);
  }
});
