// Tests of splitWord, the command-line splitter both sides use.

import assert from "node:assert/strict";
import { isOneWord, splitWord, trimArgs } from "./words.ts";

Deno.test("splitWord() takes the first word and keeps the rest as typed", () => {
  assert.deepEqual(splitWord("msg bob hello"), ["msg", "bob hello"]);
  assert.deepEqual(splitWord("  msg \t bob  hello "), ["msg", "bob  hello "]);
  assert.deepEqual(splitWord("who"), ["who", ""]);
  assert.deepEqual(splitWord(""), ["", ""]);
  assert.deepEqual(splitWord("   "), ["", ""]);
  assert.deepEqual(splitWord("say line one\nline two"), ["say", "line one\nline two"]);
});

Deno.test("splitWord() separates on ASCII whitespace only", () => {
  assert.deepEqual(splitWord("  bob \t hello  there "), ["bob", "hello  there "]);
  assert.deepEqual(splitWord("pa\u00a0ss\u3000word next"), ["pa\u00a0ss\u3000word", "next"]);
  assert.deepEqual(splitWord(""), ["", ""]);
  assert.deepEqual(splitWord("one"), ["one", ""]);
});

Deno.test("trimArgs() keeps Unicode spaces at the ends, isOneWord() counts them in", () => {
  assert.equal(trimArgs(" \t\u00a0x\u3000 \r\n"), "\u00a0x\u3000");
  assert.equal(isOneWord("\u00a0secret\u00a0"), true);
  assert.equal(isOneWord("two words"), false);
  assert.equal(isOneWord(""), false);
});
