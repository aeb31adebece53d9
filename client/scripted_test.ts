// Tests of the scripted client against a fake connection that the test answers by hand.
// The fake delivers replies and events synchronously in wire order, as connection.ts does.

import assert from "node:assert/strict";
import { FakeClock } from "./fake_clock.ts";
import type { CommandInfo, Reply, ServerEvent } from "../protocol/mod.ts";
import { runScripted, type ScriptConnection, type ScriptedOptions } from "./scripted.ts";

const TS = new Date(2025, 0, 5, 9, 7).getTime(); // 09:07 local time

const CATALOG: CommandInfo[] = [{
  name: "passwd",
  aliases: [],
  summary: "Change your password",
  usage: "/passwd <current> <new>",
  params: [{ name: "current", kind: "secret" }, { name: "new", kind: "secret" }],
  examples: [],
  plugin: "core",
}];

interface Fake {
  connection: ScriptConnection;
  /** Commands in the order sent, with the id their reply must carry. */
  sent: { re: number; cmd: string; args: string }[];
  closed?: { logout?: boolean };
  subscribe(handler: (event: ServerEvent) => void): void;
  /** Hands replies and events to the client in this order, like one received frame. */
  deliver(...messages: (Reply | ServerEvent)[]): void;
}

function fakeConnection(): Fake {
  const waiting = new Map<number, (reply: Reply) => void>();
  let nextId = 2; // the login took id 1
  let handler: ((event: ServerEvent) => void) | undefined;
  const fake: Fake = {
    sent: [],
    connection: {
      session: {
        login: "bob",
        registered: false,
        token: "token",
        catalog: CATALOG,
        server: { name: "test", version: "0", protocol: "chatz/1" },
        pingIntervalMs: 5000,
        cursor: 0,
        catchup: { count: 0, complete: true },
      },
      command(cmd, args = "") {
        const re = nextId++;
        fake.sent.push({ re, cmd, args });
        return new Promise((resolve) => waiting.set(re, resolve));
      },
      close(options) {
        fake.closed = options ?? {};
        for (const [re, resolve] of waiting) {
          resolve({ re, ok: false, code: "internal_error", message: "Connection closed" });
        }
        waiting.clear();
        return Promise.resolve();
      },
    },
    subscribe(next) {
      handler = next;
    },
    deliver(...messages) {
      for (const message of messages) {
        if ("re" in message) {
          waiting.get(message.re)?.(message);
          waiting.delete(message.re);
        } else handler?.(message);
      }
    },
  };
  return fake;
}

async function* linesOf(lines: string[]): AsyncGenerator<string> {
  for (const line of lines) yield line;
}

/** Resolves once `condition` holds; fails after a deadline instead of hanging. */
async function until(condition: () => boolean, deadlineMs = 2000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("Cannot wait for condition: deadline passed");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function start(fake: Fake, lines: AsyncIterable<string>, options: Partial<ScriptedOptions> = {}) {
  const output: string[] = [];
  const run = runScripted(fake.connection, {
    lines,
    write: (line) => output.push(line),
    subscribe: fake.subscribe,
    json: false,
    waitMs: 0,
    timeoutMs: 2000,
    ...options,
  });
  return { output, run };
}

Deno.test("runScripted() prints one line per reply in input order, then logs out", async () => {
  const fake = fakeConnection();
  const { output, run } = start(fake, linesOf(["hello", "/help nosuch", "/group join ops", ""]));
  await until(() => fake.sent.length === 2);
  assert.deepEqual(fake.sent.map((s) => [s.cmd, s.args]), [["say", "hello"], [
    "group",
    "join ops",
  ]]);
  // Nothing yet: the local error waits for the reply to the line before it.
  assert.deepEqual(output, []);
  // The server echoes the sent message as an event; its acknowledgement adds no line.
  fake.deliver(
    { type: "message", id: 9, ts: TS, scope: "public", from: "bob", text: "hello" },
    { re: 2, ok: true, data: { id: 9, ts: TS } },
    { re: 3, ok: true },
  );
  assert.equal(await run, 1, "the /help line failed");
  assert.deepEqual(output, [
    "[09:07] <you> hello",
    'error: Cannot show help for "nosuch": no such command (unknown_command)',
    "ok",
  ]);
  assert.deepEqual(fake.closed, { logout: true });
});

Deno.test("runScripted() keeps events and replies in wire order", async () => {
  const fake = fakeConnection();
  const { output, run } = start(fake, linesOf(["/who", "/groups"]), { json: true });
  await until(() => fake.sent.length === 2);
  const presence: ServerEvent = { type: "presence", login: "carol", state: "online", ts: TS };
  fake.deliver(
    { re: 2, ok: true, text: "bob" },
    presence,
    { re: 3, ok: false, code: "no_such_user", message: 'Cannot send to "x": no such user' },
  );
  assert.equal(await run, 1, "a command failed");
  assert.deepEqual(output.map((line) => JSON.parse(line)), [
    { type: "reply", re: 2, text: "bob" },
    presence,
    { type: "error", re: 3, code: "no_such_user", message: 'Cannot send to "x": no such user' },
  ]);
});

Deno.test("runScripted() prints events that came before it subscribed", async () => {
  const fake = fakeConnection();
  const early: ServerEvent = { type: "notice", text: "Welcome", ts: TS };
  const { output, run } = start(fake, linesOf([]), {
    subscribe: (handler) => handler(early),
  });
  assert.equal(await run, 0);
  assert.deepEqual(output, ["[09:07] -!- Welcome"]);
});

Deno.test("runScripted() reports local errors as JSON lines", async (t) => {
  await t.step("unknown help topic", async () => {
    const fake = fakeConnection();
    const { output, run } = start(fake, linesOf(["/help nosuch"]), { json: true });
    assert.equal(await run, 1);
    assert.deepEqual(output.map((line) => JSON.parse(line)), [{
      type: "error",
      code: "unknown_command",
      message: 'Cannot show help for "nosuch": no such command',
    }]);
  });
  await t.step("a secret that cannot be prompted for is not sent", async () => {
    const fake = fakeConnection();
    const { output, run } = start(fake, linesOf(["/passwd old"]), { json: true });
    assert.equal(await run, 1);
    assert.deepEqual(fake.sent, []);
    assert.deepEqual(output.map((line) => JSON.parse(line)), [{
      type: "error",
      code: "bad_arguments",
      message: 'Cannot run "/passwd": secret "new" missing, and only a terminal can ask for it',
    }]);
  });
  await t.step("help text", async () => {
    const fake = fakeConnection();
    const { output, run } = start(fake, linesOf(["/help passwd"]), { json: true });
    assert.equal(await run, 0);
    assert.equal(JSON.parse(output[0]).type, "help");
    assert.match(JSON.parse(output[0]).text, /^\/passwd <current> <new>/);
  });
});

Deno.test("runScripted() stops reading at /quit", async () => {
  const fake = fakeConnection();
  const { run } = start(fake, linesOf(["/quit", "never sent"]));
  assert.equal(await run, 0);
  assert.deepEqual(fake.sent, []);
  assert.deepEqual(fake.closed, { logout: true });
});

Deno.test("runScripted() ends with exit code 1 when the server says bye", async () => {
  const fake = fakeConnection();
  let release = () => {};
  async function* lines() {
    yield "first";
    await new Promise<void>((resolve) => release = resolve); // input stalls, as a terminal may
    yield "never read";
  }
  const { output, run } = start(fake, lines());
  await until(() => fake.sent.length === 1);
  fake.deliver({ type: "bye", code: "kicked", message: "Kicked by the operator" });
  assert.equal(await run, 1);
  release();
  assert.deepEqual(fake.sent.map((s) => s.args), ["first"]);
  assert.deepEqual(fake.closed, { logout: false });
  assert.deepEqual(output, [
    "-!- Session ended: Kicked by the operator (kicked)",
    "error: Connection closed (internal_error)",
  ]);
});

Deno.test("runScripted() gives up when replies stop coming", async () => {
  const fake = fakeConnection();
  const { output, run } = start(fake, linesOf(["hello"]), { timeoutMs: 50 });
  assert.equal(await run, 1);
  assert.deepEqual(output, [
    "error: Connection closed (internal_error)",
    "error: Cannot finish: no reply within 50 ms (unreachable)",
  ]);
  assert.deepEqual(fake.closed, { logout: false });
});

Deno.test("runScripted() prints events for --wait milliseconds after the last reply", async () => {
  const fake = fakeConnection();
  const clock = new FakeClock();
  const { output, run } = start(fake, linesOf(["hello"]), { waitMs: 300, clock });
  await until(() => fake.sent.length === 1);
  fake.deliver(
    { type: "message", id: 1, ts: TS, scope: "public", from: "bob", text: "hello" },
    { re: 2, ok: true, data: { id: 1, ts: TS } },
  );
  await until(() => output.length === 1);
  await clock.advance(299);
  assert.equal(fake.closed, undefined); // still waiting
  fake.deliver({
    type: "message",
    id: 2,
    ts: TS,
    scope: "direct",
    from: "carol",
    to: "bob",
    text: "late",
  });
  await clock.advance(1);
  assert.equal(await run, 0);
  assert.deepEqual(output, ["[09:07] <you> hello", "[09:07] [carol → you] late"]);
});

Deno.test("runScripted() uses the catalog of the latest login for each line", async () => {
  const fake = fakeConnection();
  const session = fake.connection.session as { catalog: CommandInfo[] };
  const lines = (async function* () {
    yield "/help shout";
    // A re-login (the server restarted with a plugin) brings a new catalog.
    session.catalog = [...CATALOG, {
      name: "shout",
      aliases: [],
      summary: "Say it loudly",
      usage: "/shout <text...>",
      params: [{ name: "text", kind: "text" }],
      examples: [],
      plugin: "shout",
    }];
    yield "/help shout";
  })();
  const { output, run } = start(fake, lines);
  assert.equal(await run, 1, "the first /help failed");
  assert.match(output[0], /Cannot show help for "shout": no such command/);
  assert.match(output[1], /^\/shout <text\.\.\.>\n {2}Say it loudly/);
});

Deno.test("runScripted() exits 0 when every command succeeded and 1 when any got an error", async (t) => {
  await t.step("all succeeded", async () => {
    const fake = fakeConnection();
    const { run } = start(fake, linesOf(["/list"]));
    await until(() => fake.sent.length === 1);
    fake.deliver({ re: 2, ok: true, text: "alice" });
    assert.equal(await run, 0);
  });
  await t.step("one error reply among successes", async () => {
    const fake = fakeConnection();
    const { run } = start(fake, linesOf(["/msg nobody hi", "/list"]));
    await until(() => fake.sent.length === 2);
    fake.deliver(
      { re: 2, ok: false, code: "no_such_user", message: 'Cannot send to "nobody": no such user' },
      { re: 3, ok: true, text: "alice" },
    );
    assert.equal(await run, 1);
    assert.deepEqual(fake.closed, { logout: true }, "still logs out normally");
  });
});
