// Tests of the key decoder: keys, Alt and Ctrl combinations, split sequences and bracketed paste.

import assert from "node:assert/strict";
import { KeyDecoder, MAX_PASTE_CHARS } from "./keys.ts";

Deno.test("KeyDecoder.feed() decodes text, named keys and control letters", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed("hé😀\r\t\x7f\x1b[A\x1b[5~\x1b[6~\x1b[3~\x1bOH\x1b[F\x17\x0e"), [
    { kind: "text", text: "hé😀" },
    { kind: "key", name: "enter" },
    { kind: "key", name: "tab" },
    { kind: "key", name: "backspace" },
    { kind: "key", name: "up" },
    { kind: "key", name: "pageup" },
    { kind: "key", name: "pagedown" },
    { kind: "key", name: "delete" },
    { kind: "key", name: "home" },
    { kind: "key", name: "end" },
    { kind: "ctrl", letter: "w" },
    { kind: "ctrl", letter: "n" },
  ]);
});

Deno.test("KeyDecoder.feed() decodes Alt-digits and Alt-arrows in both spellings", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed("\x1b2\x1b[1;3D\x1b\x1b[C\x1b[1;5C\x1b[Z"), [
    { kind: "alt", char: "2" },
    { kind: "key", name: "left", alt: true },
    { kind: "key", name: "right", alt: true },
    { kind: "key", name: "right", ctrl: true },
    { kind: "key", name: "backtab" },
  ]);
});

Deno.test("KeyDecoder.feed() keeps a sequence split across chunks", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed("a\x1b["), [{ kind: "text", text: "a" }]);
  assert.deepEqual(decoder.feed("5"), []);
  assert.deepEqual(decoder.feed("~b"), [{ kind: "key", name: "pageup" }, {
    kind: "text",
    text: "b",
  }]);
  assert.deepEqual(decoder.feed("\x1b"), []);
  assert.deepEqual(decoder.flush(), [{ kind: "key", name: "escape" }]);
});

Deno.test("KeyDecoder.feed() turns a bracketed paste into one event with its line breaks", () => {
  const decoder = new KeyDecoder();
  // The paste's end marker is split across two reads.
  assert.deepEqual(decoder.feed("x\x1b[200~one\r\n/msg bob\ttwo\x1b[20"), [{
    kind: "text",
    text: "x",
  }]);
  assert.deepEqual(decoder.feed("1~y"), [
    { kind: "paste", text: "one\n/msg bob\ttwo" },
    { kind: "text", text: "y" },
  ]);
});

Deno.test("KeyDecoder.feed() keeps at most MAX_PASTE_CHARS of a paste", () => {
  const decoder = new KeyDecoder();
  const events = decoder.feed(`\x1b[200~${"a".repeat(MAX_PASTE_CHARS + 10)}\x1b[201~`);
  assert.equal(events.length, 1);
  assert.equal(events[0].kind === "paste" && events[0].text.length, MAX_PASTE_CHARS);
});

Deno.test("KeyDecoder.feed() drops C1 controls from typed text and skips unknown sequences", () => {
  const decoder = new KeyDecoder();
  assert.deepEqual(decoder.feed("a\u009bb\x1b[99xc"), [
    { kind: "text", text: "ab" },
    { kind: "text", text: "c" },
  ]);
});
