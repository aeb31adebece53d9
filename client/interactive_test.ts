// Tests of line mode's behaviour without a terminal: keys in, printed lines and the input row out.

import assert from "node:assert/strict";
import type { CommandInfo, Reply } from "../protocol/mod.ts";
import { type LineConnection, LineMode } from "./interactive.ts";
import type { KeyEvent } from "./tui/keys.ts";

const CATALOG: CommandInfo[] = [
  {
    name: "msg",
    aliases: [],
    summary: "",
    usage: "/msg <login> <text>",
    params: [{ name: "login", kind: "login" }, { name: "text", kind: "text" }],
    examples: [],
    plugin: "t",
  },
  {
    name: "passwd",
    aliases: [],
    summary: "",
    usage: "/passwd <current> <new>",
    params: [{ name: "current", kind: "secret" }, { name: "new", kind: "secret" }],
    examples: [],
    plugin: "t",
  },
  { name: "list", aliases: [], summary: "", usage: "", params: [], examples: [], plugin: "t" },
];

function start() {
  const sent: string[] = [];
  const printed: string[] = [];
  let row = "";
  let quit = false;
  const conn: LineConnection = {
    session: {
      login: "bob",
      registered: false,
      token: "t",
      catalog: CATALOG,
      server: { name: "chatz", version: "0", protocol: "chatz/1" },
      pingIntervalMs: 5000,
      cursor: 0,
      catchup: { count: 0, complete: true },
    },
    command(cmd, args = "") {
      sent.push(`${cmd} ${args}`.trim());
      const reply: Reply = cmd === "list"
        ? { re: 1, ok: true, data: { users: [{ login: "alice" }, { login: "bob" }] } }
        : { re: 1, ok: true };
      return Promise.resolve(reply);
    },
  };
  const mode = new LineMode(conn, {
    columns: () => 40,
    print: (text) => printed.push(text),
    input: (prompt, text) => row = prompt + text,
  }, { color: false, quit: () => quit = true });
  mode.start();
  const keys = (...events: KeyEvent[]) => events.forEach((e) => mode.key(e));
  return { mode, sent, printed, row: () => row, quit: () => quit, keys };
}

const ENTER: KeyEvent = { kind: "key", name: "enter" };
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("LineMode sends a multi-line paste as one message after asking once", async () => {
  const t = start();
  t.keys({ kind: "paste", text: "one\n/msg alice two\nthree\n" });
  assert.equal(t.row(), "Send 3 pasted lines as one message? (y/n) ");
  t.keys(ENTER, { kind: "text", text: "y" });
  await settle();
  assert.deepEqual(t.sent, ["list", "say one\n/msg alice two\nthree"]);
  t.keys({ kind: "paste", text: "a\nb" }, { kind: "text", text: "n" });
  assert.equal(t.printed.at(-1), "-!- Paste cancelled");
  assert.equal(t.row(), "bob> ");
});

Deno.test("LineMode completes a login from who is online and keeps secrets out of sight", async () => {
  const t = start();
  await settle();
  t.keys({ kind: "text", text: "/msg al" }, { kind: "key", name: "tab" });
  assert.equal(t.row(), "bob> /msg alice ");
  t.keys({ kind: "ctrl", letter: "u" }, { kind: "text", text: "/passwd" }, ENTER);
  assert.equal(t.row(), "current: ");
  t.keys({ kind: "text", text: "old-pw" });
  assert.equal(t.row(), "current: ******");
  t.keys(ENTER, { kind: "text", text: "new-pw" }, ENTER);
  await settle();
  assert.equal(t.sent.at(-1), "passwd old-pw new-pw");
  assert.ok(t.printed.every((line) => !line.includes("old-pw")));
  t.keys({ kind: "key", name: "up" });
  assert.equal(t.row(), "bob> ", "the /passwd line is not in history");
  t.keys({ kind: "ctrl", letter: "d" });
  assert.equal(t.quit(), true);
});

Deno.test("LineMode completes a Tab pressed before the list of who is online came", async () => {
  const t = start();
  t.keys({ kind: "text", text: "/msg al" }, { kind: "key", name: "tab" });
  await settle();
  assert.equal(t.row(), "bob> /msg alice ");
});
