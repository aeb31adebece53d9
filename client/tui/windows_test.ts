// Tests of the window model: routing of lines, unread counts, the marker, activity, history, bounds.

import assert from "node:assert/strict";
import {
  activityText,
  appendLine,
  closeWindow,
  createWindowList,
  currentWindow,
  insertOlder,
  markerIndex,
  MAX_WINDOW_LINES,
  messageWindow,
  type NewLine,
  openWindow,
  prependHistory,
  switchBy,
  switchTo,
} from "./windows.ts";

const TS = new Date(2026, 11, 3, 9, 7).getTime();

function message(id: number, from = "bob", extra: Partial<NewLine> = {}): NewLine {
  return { kind: "message", ts: TS, id, from, text: `m${id}`, ...extra } as NewLine;
}

Deno.test("messageWindow() puts direct messages in the other person's query, both ways", () => {
  const base = { type: "message" as const, id: 1, ts: TS, text: "x" };
  assert.deepEqual(messageWindow({ ...base, scope: "direct", from: "Bob", to: "me" }, "me"), {
    kind: "query",
    name: "Bob",
  });
  assert.deepEqual(messageWindow({ ...base, scope: "direct", from: "ME", to: "bob" }, "me"), {
    kind: "query",
    name: "bob",
  });
  assert.deepEqual(messageWindow({ ...base, scope: "group", from: "a", group: "devs" }, "me"), {
    kind: "group",
    name: "devs",
  });
});

Deno.test("window list: activity list with mentions marked, unread counts, switching clears", () => {
  const list = createWindowList();
  const devs = openWindow(list, "group", "devs").window;
  const bob = openWindow(list, "query", "bob").window;
  assert.equal(openWindow(list, "group", "DEVS").opened, false, "name keys, not spellings");
  appendLine(list, devs, message(1), 2);
  appendLine(list, bob, message(2), 3);
  appendLine(list, devs, { kind: "info", text: "carol joined" }, 1);
  assert.equal(activityText(list), "Act: 2,3*");
  assert.equal(devs.unread, 1);
  switchTo(list, 1);
  assert.equal(currentWindow(list), devs);
  assert.equal(activityText(list), "Act: 3*");
  assert.equal(devs.unread, 0);
  switchBy(list, 1);
  switchBy(list, 1);
  assert.equal(list.current, 0, "wraps around");
  assert.equal(activityText(list), "");
});

Deno.test("window list: own messages raise no activity and count as read", () => {
  const list = createWindowList();
  const bob = openWindow(list, "query", "bob").window;
  appendLine(list, bob, message(1, "me", { own: true } as Partial<NewLine>), 2);
  assert.equal(activityText(list), "");
  appendLine(list, bob, message(2), 3);
  switchTo(list, 1);
  assert.equal(markerIndex(bob), 1, "the marker sits after the own line");
});

Deno.test("window list: the unread marker goes where the user left and stays until they leave", () => {
  const list = createWindowList();
  const room = list.windows[0];
  appendLine(list, room, message(1), 2);
  openWindow(list, "group", "devs");
  switchTo(list, 1);
  appendLine(list, room, message(2), 2);
  appendLine(list, room, message(3), 2);
  switchTo(list, 0);
  assert.equal(markerIndex(room), 1);
  appendLine(list, room, message(4), 2);
  assert.equal(markerIndex(room), 1, "new lines while reading do not move it");
  switchTo(list, 1);
  switchTo(list, 0);
  assert.equal(markerIndex(room), undefined, "nothing unread: no marker");
});

Deno.test("window list: history goes before live lines once, with the backlog separator", () => {
  const list = createWindowList();
  const room = list.windows[0];
  appendLine(list, room, message(5), 2);
  const added = prependHistory(list, room, [message(3), message(4), message(5)], "end of backlog");
  assert.equal(added, 2);
  assert.deepEqual(room.lines.map((l) => l.kind === "message" ? l.id : l.kind), [
    3,
    4,
    "backlog",
    5,
  ]);
  assert.equal(room.oldestId, 3);
  assert.ok(room.lines.every((l, i) => i === 0 || room.lines[i - 1].seq < l.seq));
});

Deno.test("window list: scrollback is bounded; closing keeps the public room", () => {
  const list = createWindowList();
  const room = list.windows[0];
  for (let id = 1; id <= MAX_WINDOW_LINES + 5; id++) appendLine(list, room, message(id), 2);
  assert.equal(room.lines.length, MAX_WINDOW_LINES);
  assert.equal(room.oldestId, 6);
  assert.equal(closeWindow(list, room), false);
  const bob = openWindow(list, "query", "bob").window;
  switchTo(list, 1);
  assert.equal(closeWindow(list, bob), true);
  assert.equal(currentWindow(list), room);
});

Deno.test("insertOlder() puts replayed messages in id order, never as unread", () => {
  const list = createWindowList();
  const devs = openWindow(list, "group", "devs").window;
  appendLine(list, devs, message(9), 2);
  devs.unread = 0;
  devs.activity = 0;
  for (const id of [3, 5, 4]) {
    insertOlder(list, devs, message(id) as NewLine & { kind: "message" });
  }
  assert.equal(insertOlder(list, devs, message(5) as NewLine & { kind: "message" }), false);
  assert.deepEqual(devs.lines.map((l) => l.kind === "message" && l.id), [3, 4, 5, 9]);
  assert.equal(devs.unread, 0);
  assert.equal(activityText(list), "");
  assert.equal(devs.oldestId, 3);
});
