// Tests of splitWord, the command-line splitter both sides use.

import assert from "node:assert/strict";
import { splitWord } from "./words.ts";

Deno.test("splitWord() takes the first word and keeps the rest as typed", () => {
  assert.deepEqual(splitWord("msg bob hello"), ["msg", "bob hello"]);
  assert.deepEqual(splitWord("  msg \t bob  hello "), ["msg", "bob  hello "]);
  assert.deepEqual(splitWord("who"), ["who", ""]);
  assert.deepEqual(splitWord(""), ["", ""]);
  assert.deepEqual(splitWord("   "), ["", ""]);
  assert.deepEqual(splitWord("say line one\nline two"), ["say", "line one\nline two"]);
});
