// Tests of the renderer: layout, wrapping by terminal columns, markers, date lines, safety, colour.

// deno-lint-ignore-file no-control-regex -- the assertions look for escape sequences
import assert from "node:assert/strict";
import stringWidth from "string-width";
import { renderMessages, renderScreen, type ScreenState } from "./render.ts";
import { nickColorIndex } from "./style.ts";
import {
  appendLine,
  createWindowList,
  type NewLine,
  openWindow,
  switchTo,
  type WindowList,
} from "./windows.ts";

const DAY1 = new Date(2026, 11, 2, 23, 58).getTime();
const DAY2 = new Date(2026, 11, 3, 0, 2).getTime();

function line(id: number, text: string, extra: Partial<NewLine> = {}): NewLine {
  return { kind: "message", ts: DAY2, id, from: "bob", text, ...extra } as NewLine;
}

function state(windows: WindowList, color = false): ScreenState {
  return {
    windows,
    self: "alice",
    title: " chatz · tcp://127.0.0.1:5555 · alice · encrypted (CURVE)",
    connection: "online",
    prompt: "[public] ",
    input: { text: "hel", cursorColumn: 3 },
    color,
  };
}

Deno.test("renderScreen() lays out title, messages, status with the activity list, input", () => {
  const list = createWindowList();
  appendLine(list, list.windows[0], line(1, "hello"), 2);
  const devs = openWindow(list, "group", "devs").window;
  appendLine(list, devs, line(2, "alice: look"), 3);
  const frame = renderScreen(state(list), 60, 8);
  assert.equal(frame.rows.length, 8);
  assert.match(frame.rows[0], /^\x1b\[7m chatz · tcp:\/\/127\.0\.0\.1:5555 · alice · encrypted/);
  assert.equal(frame.rows[5], "00:02 <bob> hello");
  assert.match(frame.rows[6], /\[alice\] \[1:public\] \[Act: 2\*\] \[online\]/);
  assert.equal(frame.rows[7], "[public] hel");
  assert.deepEqual(frame.cursor, { row: 7, column: 12 });
});

Deno.test("renderMessages() wraps by terminal columns and indents continuation rows", () => {
  const list = createWindowList();
  appendLine(list, list.windows[0], line(1, "中文字符 and 😀😀 emoji that wrap around"), 2);
  const rows = renderMessages(list.windows[0], { self: "alice", color: false }, 24, 4);
  assert.deepEqual(rows, [
    "00:02 <bob> 中文字符 and",
    "            😀😀 emoji ",
    "            that wrap ",
    "            around",
  ]);
  assert.ok(rows.every((r) => stringWidth(r) <= 24));
});

Deno.test("renderMessages() keeps escape sequences from peers harmless, line breaks as rows", () => {
  const list = createWindowList();
  appendLine(list, list.windows[0], line(1, "a\x1b[2J\x1b]0;pwned\x07\nsecond\u202eline"), 2);
  const rows = renderMessages(list.windows[0], { self: "alice", color: false }, 60, 2);
  assert.deepEqual(rows, [
    "00:02 <bob> a\ufffd[2J\ufffd]0;pwned\ufffd",
    "            second\ufffdline",
  ]);
});

Deno.test("renderMessages() shows date changes and the unread marker", () => {
  const list = createWindowList();
  const room = list.windows[0];
  appendLine(list, room, line(1, "late", { ts: DAY1 }), 2);
  openWindow(list, "group", "devs");
  switchTo(list, 1);
  appendLine(list, room, line(2, "early"), 2);
  switchTo(list, 0);
  const rows = renderMessages(room, { self: "alice", color: false }, 40, 4);
  assert.equal(rows[0], "23:58 <bob> late");
  assert.match(rows[1], /^-+ unread -+$/);
  assert.equal(rows[2], "--- Day changed to Thu, 03 Dec 2026");
  assert.equal(rows[3], "00:02 <bob> early");
});

Deno.test("renderMessages() scrolls back and clamps at the oldest line", () => {
  const list = createWindowList();
  const room = list.windows[0];
  for (let id = 1; id <= 10; id++) appendLine(list, room, line(id, `m${id}`), 2);
  room.scroll = 3;
  const rows = renderMessages(room, { self: "alice", color: false }, 40, 2);
  assert.deepEqual(rows, ["00:02 <bob> m6", "00:02 <bob> m7"]);
  room.scroll = 100;
  renderMessages(room, { self: "alice", color: false }, 40, 2);
  assert.equal(room.scroll, 8);
});

Deno.test("renderMessages() colours: stable nick colours, own and highlighted lines distinct", () => {
  const list = createWindowList();
  const room = list.windows[0];
  appendLine(list, room, line(1, "hi"), 2);
  appendLine(list, room, line(2, "mine", { from: "alice", own: true }), 2);
  appendLine(list, room, line(3, "alice!", { highlight: true }), 3);
  appendLine(list, room, line(4, "waves", { action: true }), 2);
  const rows = renderMessages(room, { self: "alice", color: true }, 60, 4);
  assert.equal(nickColorIndex("Bob"), nickColorIndex("bob"));
  assert.match(rows[0], /<\x1b\[(3[2-6]|9[2-6])mbob\x1b\[0m> hi/);
  assert.match(rows[1], /<\x1b\[1malice\x1b\[0m> \x1b\[1mmine/);
  assert.match(rows[2], /<\x1b\[1;30;43mbob\x1b\[0m> alice!/);
  assert.match(rows[3], /\x1b\[2m \* bob \x1b\[0m\x1b\[2mwaves/);
  const plain = renderMessages(room, { self: "alice", color: false }, 60, 4);
  assert.ok(plain.every((r) => !/\x1b\[[0-9;]*3\dm/.test(r)), "NO_COLOR: no colour codes");
});
