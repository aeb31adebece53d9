// Tests of what store.ts defines besides the interface: the conversation keys.

import assert from "node:assert/strict";
import { conversationOf } from "./store.ts";

Deno.test("conversationOf() names one key per conversation", () => {
  assert.equal(conversationOf({ scope: "public" }), "p");
  assert.equal(conversationOf({ scope: "group", groupKey: "ops", created: 5 }), "g:ops:5");
  const ab = conversationOf({ scope: "direct", a: "alice", b: "bob" });
  assert.equal(ab, conversationOf({ scope: "direct", a: "bob", b: "alice" }));
  assert.notEqual(ab, conversationOf({ scope: "direct", a: "alice", b: "carol" }));
  assert.notEqual(
    conversationOf({ scope: "direct", a: "alice", b: "alice" }),
    conversationOf({ scope: "direct", a: "bob", b: "bob" }),
  );
});
