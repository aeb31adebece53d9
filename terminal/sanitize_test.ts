// Tests of the terminal sanitizer: every class of unsafe character is caught, nothing else is.

import assert from "node:assert/strict";
import { escapeUnsafe, isTerminalSafe, replaceUnsafe } from "./sanitize.ts";

/** One of each kind of character that must not reach a terminal raw. */
const UNSAFE_SAMPLES: [string, string][] = [
  ["NUL", "\u0000"],
  ["ESC", "\u001b"],
  ["tab", "\t"],
  ["line feed", "\n"],
  ["carriage return", "\r"],
  ["DEL", "\u007f"],
  ["C1 CSI", "\u009b"],
  ["Arabic letter mark", "\u061c"],
  ["left-to-right mark", "\u200e"],
  ["right-to-left mark", "\u200f"],
  ["line separator", "\u2028"],
  ["paragraph separator", "\u2029"],
  ["left-to-right embedding", "\u202a"],
  ["right-to-left override", "\u202e"],
  ["left-to-right isolate", "\u2066"],
  ["pop directional isolate", "\u2069"],
];

Deno.test("isTerminalSafe() refuses each kind of unsafe character", async (t) => {
  for (const [name, c] of UNSAFE_SAMPLES) {
    await t.step(name, () => assert.equal(isTerminalSafe(`a${c}b`), false));
  }
});

Deno.test("isTerminalSafe() accepts text, emoji, joiners and right-to-left letters", () => {
  for (const text of ["hello", "héllo wörld", "🎉👩‍💻", "a\u200db", "שלום", "مرحبا", "~!@#$%^&*()"]) {
    assert.equal(isTerminalSafe(text), true, JSON.stringify(text));
  }
});

Deno.test("replaceUnsafe() replaces every unsafe character and keeps the rest", () => {
  const all = UNSAFE_SAMPLES.map(([, c]) => c).join("x");
  assert.equal(replaceUnsafe(all, "?"), UNSAFE_SAMPLES.map(() => "?").join("x"));
  assert.equal(replaceUnsafe("h\u001b]0;pwned\u0007", "?"), "h?]0;pwned?");
  assert.equal(replaceUnsafe("plain 🎉", "?"), "plain 🎉");
});

Deno.test("escapeUnsafe() writes unsafe characters as \\u escapes", () => {
  assert.equal(escapeUnsafe("a\u001bb\u2028c\u009b"), "a\\u001bb\\u2028c\\u009b");
  assert.equal(escapeUnsafe("ok"), "ok");
});
