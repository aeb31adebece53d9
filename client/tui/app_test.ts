// Tests of the full-screen client's behaviour against a fake connection answered by the test.
// Keys go in as decoded events; what was sent and what the windows hold come out.

import assert from "node:assert/strict";
import type { CommandInfo, LoginData, Reply, ServerEvent } from "../../protocol/mod.ts";
import { type AppConnection, ChatApp } from "./app.ts";
import type { KeyEvent } from "./keys.ts";
import { activityText, currentWindow, type WindowLine } from "./windows.ts";

const TS = new Date(2026, 11, 3, 9, 7).getTime();

function command(name: string, params: CommandInfo["params"] = []): CommandInfo {
  return { name, aliases: [], summary: "", usage: "", params, examples: [], plugin: "test" };
}

const CATALOG = [
  command("say", [{ name: "text", kind: "text" }]),
  command("me", [{ name: "text", kind: "text" }]),
  command("msg", [{ name: "login", kind: "login" }, { name: "text", kind: "text" }]),
  command("group join", [{ name: "group", kind: "group" }]),
  command("group leave", [{ name: "group", kind: "group" }]),
  command("group list"),
  command("group say", [{ name: "group", kind: "group" }, { name: "text", kind: "text" }]),
  command("history", [
    { name: "target", kind: "word", optional: true },
    { name: "count", kind: "int", optional: true },
    { name: "before", kind: "int", optional: true },
  ]),
  command("list"),
];

/** A connection whose replies the test gives by the command line they answer. */
function fakeConnection(answer: (line: string) => Reply | undefined = () => undefined) {
  const sent: string[] = [];
  const session: LoginData = {
    login: "alice",
    registered: false,
    token: "t",
    catalog: CATALOG,
    server: { name: "chatz", version: "0", protocol: "chatz/1" },
    pingIntervalMs: 5000,
    cursor: 0,
    catchup: { count: 0, complete: true },
  };
  const connection: AppConnection = {
    session,
    command(cmd, args = "") {
      const line = `${cmd} ${args}`.trim();
      sent.push(line);
      return Promise.resolve(answer(line) ?? { re: 1, ok: true });
    },
  };
  return { connection, sent };
}

function start(answer?: (line: string) => Reply | undefined, words: string[] = []) {
  const fake = fakeConnection(answer);
  let bells = 0;
  let quit = false;
  const app = new ChatApp(fake.connection, {
    color: false,
    highlightWords: words,
    title: "t",
    changed: () => {},
    bell: () => bells++,
    quit: () => quit = true,
  });
  app.start();
  return {
    app,
    sent: fake.sent,
    bells: () => bells,
    quit: () => quit,
    type(text: string, ...keys: KeyEvent[]) {
      if (text !== "") app.key({ kind: "text", text });
      for (const key of keys) app.key(key);
    },
  };
}

const ENTER: KeyEvent = { kind: "key", name: "enter" };
const TAB: KeyEvent = { kind: "key", name: "tab" };

function texts(lines: WindowLine[]): string[] {
  return lines.map((l) => l.kind === "message" ? `<${l.from}> ${l.text}` : `${l.kind}: ${l.text}`);
}

function page(...messages: Partial<ServerEvent>[]): Reply {
  return {
    re: 1,
    ok: true,
    text: `${messages.length} messages`,
    data: { messages: messages.map((m) => ({ type: "message", ts: TS, history: true, ...m })) },
  };
}

/** Lets the fake's resolved promises run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("ChatApp.start() loads the public backlog and opens a window per group", async () => {
  const t = start((line) => {
    if (line === "history public 50") {
      return page({ id: 1, scope: "public", from: "bob", text: "earlier" });
    }
    if (line === "group list") {
      return {
        re: 1,
        ok: true,
        data: { groups: [{ name: "devs", member: true }, { name: "ops", member: false }] },
      };
    }
    if (line === "history #devs 50") {
      return page({ id: 2, scope: "group", group: "devs", from: "bob", text: "g" });
    }
  });
  await settle();
  await settle();
  assert.deepEqual(t.sent, ["history public 50", "group list", "list", "history #devs 50"]);
  const [room, devs] = t.app.windows.windows;
  assert.deepEqual(texts(room.lines).slice(0, 2), ["<bob> earlier", "backlog: end of backlog"]);
  assert.equal(devs.name, "devs");
  assert.deepEqual(texts(devs.lines), ["<bob> g", "backlog: end of backlog"]);
  assert.deepEqual([...t.app.groups].sort(), ["devs", "ops"]);
});

Deno.test("ChatApp sends a plain line to the current window's conversation", async () => {
  const t = start();
  t.app.event({
    type: "message",
    id: 5,
    ts: TS,
    scope: "group",
    group: "devs",
    from: "bob",
    text: "x",
  });
  t.app.event({
    type: "message",
    id: 6,
    ts: TS,
    scope: "direct",
    from: "carol",
    to: "alice",
    text: "y",
  });
  t.type("", { kind: "alt", char: "2" });
  t.type("hello devs", ENTER);
  t.type("", { kind: "alt", char: "3" });
  t.type("hello carol", ENTER);
  t.type("", { kind: "ctrl", letter: "n" });
  t.type("//slash in public", ENTER);
  await settle();
  assert.ok(t.sent.includes("group say devs hello devs"));
  assert.ok(t.sent.includes("msg carol hello carol"));
  assert.ok(t.sent.includes("say /slash in public"));
});

Deno.test("ChatApp marks mentions and direct messages in the activity list and rings", () => {
  const t = start(undefined, ["deploy"]);
  t.app.event({
    type: "message",
    id: 5,
    ts: TS,
    scope: "group",
    group: "devs",
    from: "bob",
    text: "hi",
  });
  assert.equal(activityText(t.app.windows), "Act: 2");
  t.app.event({
    type: "message",
    id: 6,
    ts: TS,
    scope: "group",
    group: "devs",
    from: "bob",
    text: "DEPLOY now",
  });
  assert.equal(activityText(t.app.windows), "Act: 2*");
  assert.equal(t.bells(), 1);
  t.app.event({ type: "message", id: 7, ts: TS, scope: "public", from: "bob", text: "alicebot" });
  assert.equal(t.bells(), 1, "not a whole word");
  t.app.event({
    type: "message",
    id: 8,
    ts: TS,
    scope: "direct",
    from: "carol",
    to: "alice",
    text: "psst",
  });
  assert.equal(activityText(t.app.windows), "Act: 2*,3*");
  assert.equal(t.bells(), 2);
});

Deno.test("ChatApp asks once for a multi-line paste, then sends it as one message", async () => {
  const t = start();
  t.type("", { kind: "paste", text: "line one\n/msg bob x\nline three\n" });
  t.type("", ENTER); // not an answer: still asking
  assert.equal(t.sent.filter((s) => s.startsWith("say")).length, 0);
  t.type("y");
  await settle();
  assert.ok(t.sent.includes("say line one\n/msg bob x\nline three"));
  t.type("", { kind: "paste", text: "a\nb" });
  t.type("n");
  await settle();
  assert.ok(!t.sent.some((s) => s.includes("a\nb")));
  assert.equal(texts(currentWindow(t.app.windows).lines).at(-1), "notice: Paste cancelled");
  t.type("", { kind: "paste", text: "single line" });
  assert.equal(t.app.input.text, "single line");
});

Deno.test("ChatApp /query opens and shows a query with its backlog; /close closes it", async () => {
  const t = start((line) =>
    line === "history bob 50"
      ? page({ id: 3, scope: "direct", from: "bob", to: "alice", text: "old" })
      : undefined
  );
  t.type("/query bob", ENTER);
  await settle();
  assert.equal(currentWindow(t.app.windows).name, "bob");
  assert.deepEqual(texts(currentWindow(t.app.windows).lines), [
    "<bob> old",
    "backlog: end of backlog",
  ]);
  t.type("/close", ENTER);
  assert.equal(currentWindow(t.app.windows).kind, "public");
  t.type("/close", ENTER);
  assert.match(texts(currentWindow(t.app.windows).lines).at(-1)!, /Cannot close the public room/);
});

Deno.test("ChatApp /close in a group window asks, then leaves the group", async () => {
  const t = start();
  t.app.event({
    type: "message",
    id: 5,
    ts: TS,
    scope: "group",
    group: "devs",
    from: "bob",
    text: "x",
  });
  t.type("/window 2", ENTER);
  t.type("/close", ENTER);
  assert.equal(t.app.windows.windows.length, 2, "asks first");
  t.type("y");
  await settle();
  assert.ok(t.sent.includes("group leave devs"));
  assert.equal(t.app.windows.windows.length, 1);
});

Deno.test("ChatApp /history N pages back from the window's oldest message", async () => {
  const t = start((line) =>
    line === "history public 2 10"
      ? page({ id: 8, scope: "public", from: "bob", text: "older" })
      : undefined
  );
  await settle();
  t.app.event({ type: "message", id: 10, ts: TS, scope: "public", from: "bob", text: "now" });
  t.type("/history 2", ENTER);
  await settle();
  const lines = texts(t.app.windows.windows[0].lines);
  assert.equal(lines[0], "<bob> older");
  assert.match(lines.at(-1)!, /1 older messages above/);
});

Deno.test("ChatApp completes /msg al<Tab> from who is online, and /me only in the room", async () => {
  const t = start((line) =>
    line === "list"
      ? { re: 1, ok: true, data: { users: [{ login: "alice" }, { login: "Albert" }] } }
      : undefined
  );
  await settle();
  t.type("/msg al", TAB);
  assert.equal(t.app.input.text, "/msg Albert ");
  t.app.event({
    type: "message",
    id: 5,
    ts: TS,
    scope: "group",
    group: "devs",
    from: "bob",
    text: "x",
  });
  t.type("", { kind: "ctrl", letter: "u" }, { kind: "key", name: "right", alt: true });
  t.type("/me waves", ENTER);
  assert.match(texts(currentWindow(t.app.windows).lines).at(-1)!, /public room only/);
  t.type("", { kind: "ctrl", letter: "d" });
  assert.equal(t.quit(), true);
});

Deno.test("ChatApp completes a Tab pressed before the list of who is online came", async () => {
  const t = start((line) =>
    line === "list" ? { re: 1, ok: true, data: { users: [{ login: "alfred" }] } } : undefined
  );
  t.type("/msg al", TAB);
  await settle();
  assert.equal(t.app.input.text, "/msg alfred ");
});

Deno.test("ChatApp opens and shows a group's window on joining, closes it on leaving", async () => {
  const t = start((line) =>
    line === "group join ops"
      ? { re: 1, ok: true, text: "Joined", data: { name: "Ops" } }
      : undefined
  );
  t.type("/group join ops", ENTER);
  await settle();
  assert.equal(currentWindow(t.app.windows).name, "Ops");
  assert.ok(t.sent.includes("history #Ops 50"));
  t.type("/group leave ops", ENTER);
  await settle();
  assert.equal(currentWindow(t.app.windows).kind, "public");
  assert.equal(t.app.windows.windows.length, 1);
});
