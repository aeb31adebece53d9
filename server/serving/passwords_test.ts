// Tests of password hashing on the hashing thread: round trips, old hashes, tampered parameters.

import assert from "node:assert/strict";
import { hashPassword, oldestHashWaitMs, stopHashing, verifyPassword } from "./passwords.ts";

/** A hash made before the hashing thread, by node:crypto's async scrypt, with its parameters. */
const OLD_HASH = "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$" +
  "R93o63FXa37IJjsvZdfR7u6DZ+fmraWDaGKwvQycT/8=";

Deno.test("hashPassword() and verifyPassword() agree; stored parameters keep verifying", async (t) => {
  try {
    await t.step("a new hash verifies its password and no other", async () => {
      const hash = await hashPassword("correct horse");
      assert.match(hash, /^scrypt\$16384\$8\$1\$/);
      assert.equal(await verifyPassword("correct horse", hash), true);
      assert.equal(await verifyPassword("wrong horse", hash), false);
    });
    await t.step("a hash stored before keeps verifying", async () => {
      assert.equal(await verifyPassword("pw", OLD_HASH), true);
    });
    await t.step("parameters asking for too much memory or malformed are refused", async () => {
      assert.equal(await verifyPassword("pw", OLD_HASH.replace("$16384$", "$1048576$")), false);
      assert.equal(await verifyPassword("pw", OLD_HASH.replace("$8$", "$x$")), false);
      assert.equal(await verifyPassword("pw", "bcrypt$whatever"), false);
    });
  } finally {
    stopHashing();
  }
});

Deno.test("oldestHashWaitMs() tells how long the oldest hash still waiting was asked for", async () => {
  try {
    assert.equal(oldestHashWaitMs(), 0, "nothing waits");
    const asked = performance.now();
    const first = hashPassword("one");
    const second = hashPassword("two");
    const later = asked + 60_000;
    assert.ok(oldestHashWaitMs(0, later) >= 60_000 - (performance.now() - asked));
    assert.ok(oldestHashWaitMs(0, later) <= 60_000, "counted from when it was asked for");
    await Promise.all([first, second]);
    const done = performance.now();
    assert.equal(oldestHashWaitMs(0, later), 0, "nothing waits any more");
    // The last one's client has had its answer only just now: within a limit, its wait still counts.
    const waited = oldestHashWaitMs(1000, done);
    assert.ok(waited > 0 && waited <= done - asked, `the last hash's wait, ${waited} ms`);
    assert.equal(oldestHashWaitMs(1000, done + 1000), 0, "once the limit has passed since");
  } finally {
    stopHashing();
  }
});
