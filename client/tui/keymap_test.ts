// Tests of the key binding table.

import assert from "node:assert/strict";
import { keyAction } from "./keymap.ts";

Deno.test("keyAction() binds windows, scrolling, editing and leaving", () => {
  assert.deepEqual(keyAction({ kind: "alt", char: "3" }), { window: 2 });
  assert.deepEqual(keyAction({ kind: "alt", char: "0" }), { window: 9 });
  assert.deepEqual(keyAction({ kind: "key", name: "left", alt: true }), { do: "previous-window" });
  assert.deepEqual(keyAction({ kind: "ctrl", letter: "n" }), { do: "next-window" });
  assert.deepEqual(keyAction({ kind: "key", name: "pageup" }), { do: "page-up" });
  assert.deepEqual(keyAction({ kind: "key", name: "left", ctrl: true }), { edit: "wordLeft" });
  assert.deepEqual(keyAction({ kind: "key", name: "up", ctrl: true }), { edit: "historyUp" });
  assert.deepEqual(keyAction({ kind: "ctrl", letter: "d" }), { do: "quit-if-empty" });
  assert.equal(keyAction({ kind: "ctrl", letter: "q" }), undefined);
  assert.equal(keyAction({ kind: "text", text: "a" }), undefined);
});
