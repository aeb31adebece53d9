// Tests of the example /roll plugin through the plugin bench: how a plugin author tests a plugin.
// No server and no sockets: the real registry and chat core with fake sessions.

import assert from "node:assert/strict";
import type { MessageEvent } from "../../protocol/mod.ts";
import { createPluginBench } from "chatz/testing";
import roll from "./roll.ts";

Deno.test("/roll tells everyone the dice it rolled", async () => {
  const bench = await createPluginBench([roll], { logins: ["alice", "bob"] });
  try {
    const result = await bench.run("alice", "roll 3d6");
    assert.ok(result.ok);
    const data = result.data as { rolls: number[]; total: number };
    assert.equal(data.rolls.length, 3);
    assert.ok(data.rolls.every((r) => r >= 1 && r <= 6));
    assert.equal(data.total, data.rolls.reduce((a, b) => a + b, 0));
    const [event] = bench.events("bob") as MessageEvent[];
    assert.equal(event.scope, "public");
    assert.equal(event.action, true);
    assert.equal(event.text, `rolls 3d6: ${data.rolls.join(" + ")} = ${data.total}`);
    assert.deepEqual(bench.events("alice"), [], "no echo to the roller's own session");
  } finally {
    await bench.close();
  }
});

Deno.test("/roll refuses dice it cannot roll, with bad_arguments", async (t) => {
  const bench = await createPluginBench([roll], { logins: ["alice"] });
  try {
    for (const spec of ["0d6", "21d6", "2d1", "2d1001", "two dice", "d"]) {
      await t.step(spec, async () => {
        const result = await bench.run("alice", `roll ${spec}`);
        assert.equal(result.ok ? "ok" : result.code, "bad_arguments");
      });
    }
    await t.step("the default is one six-sided die", async () => {
      const result = await bench.run("alice", "dice");
      assert.ok(result.ok);
      assert.equal((result.data as { rolls: number[] }).rolls.length, 1);
    });
  } finally {
    await bench.close();
  }
});
