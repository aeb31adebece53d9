// Tests of the broker's reply encoders, which the message path and logins use instead of a generic
// JSON.stringify of the reply: their output must mean exactly what JSON.stringify would write.

import assert from "node:assert/strict";
import type { CommandResult } from "../../protocol/plugin.ts";
import { encodeLoginReply, firstMissed } from "./broker.ts";
import { encodeReply } from "./reply.ts";
import type { LoginData } from "../../protocol/mod.ts";

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

Deno.test("encodeLoginReply() parses to the reply with the whole login data", () => {
  const catalog = [{
    name: "msg",
    aliases: ["m"],
    summary: 'Send "private" text',
    usage: "/msg <login> <text...>",
    params: [],
    examples: [],
    plugin: "direct",
  }];
  const data: LoginData = {
    login: "Alice",
    registered: false,
    token: "t0k",
    catalog,
    server: { name: "chatz", version: "1.2.3", protocol: "chatz/1" },
    pingIntervalMs: 5000,
    cursor: 42,
    catchup: { count: 0, complete: true },
  };
  const { catalog: _, ...rest } = data;
  const encoded = encodeLoginReply(7, "Logged in as Alice", rest, JSON.stringify(catalog));
  assert.deepEqual(JSON.parse(encoded), {
    re: 7,
    ok: true,
    text: "Logged in as Alice",
    data,
  });
});

Deno.test("firstMissed() finds the lowest live message id of a lost frame, in any key order", async (t) => {
  await t.step("key order does not matter", () => {
    assert.equal(firstMissed(JSON.stringify([{ id: 7, ts: 1, type: "message" }])), 7);
  });
  await t.step("history replays are left out, catch-up and live messages count", () => {
    const body = JSON.stringify([
      { re: 3, ok: true },
      { type: "message", id: 2, history: true },
      { type: "message", id: 12, catchup: true },
      { type: "message", id: 15 },
    ]);
    assert.equal(firstMissed(body), 12);
  });
  await t.step("a frame without chat messages has none", () => {
    assert.equal(firstMissed(JSON.stringify([{ type: "presence", login: "bob" }])), undefined);
    assert.equal(
      firstMissed(JSON.stringify([{ type: "message", id: 1, history: true }])),
      undefined,
    );
    assert.equal(firstMissed("not json"), undefined);
  });
});
