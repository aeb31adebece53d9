// Tests of the broker's reply encoder, which the message path uses instead of JSON.stringify.
// Its output must be byte for byte what JSON.stringify makes of the same reply.

import assert from "node:assert/strict";
import type { CommandResult } from "../protocol/plugin.ts";
import { encodeReply } from "./broker.ts";

Deno.test("encodeReply() writes exactly what JSON.stringify writes for the reply", async (t) => {
  const cases: [string, CommandResult][] = [
    ["ok, nothing else", { ok: true }],
    ["ok with data", { ok: true, data: { id: 3, ts: 5, queued: true } }],
    ["ok with text and data", { ok: true, text: 'say "hi"\n', data: [1, "two"] }],
    ["error", { ok: false, code: "no_such_user", message: 'Cannot send to "x": no such user' }],
  ];
  for (const [name, result] of cases) {
    await t.step(name, () => {
      const expected = result.ok
        ? { re: 9, ok: true, text: result.text, data: result.data }
        : { re: 9, ok: false, code: result.code, message: result.message };
      assert.equal(encodeReply(9, result), JSON.stringify(expected));
    });
  }
});
