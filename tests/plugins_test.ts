// Tests of drop-in plugins with a real server: a new command works from an unchanged client,
// and plugins that fail to load, set up or run are named in errors while everything else keeps working.

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Reply } from "../protocol/mod.ts";
import { client, jsonLines, ROOT, runCli, startServerProcess } from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const PLUGINS: Record<string, string> = {
  "echo.ts": `import type { Plugin } from "chatz/plugin";
const plugin: Plugin = {
  name: "echo",
  description: "Repeats a text back",
  setup(ctx) {
    ctx.command({
      name: "echo",
      summary: "Repeat a text back to you",
      params: [{ name: "text", kind: "text" }],
      handler: (call) => call.ok(String(call.args.text)),
    });
    const voice = ctx.voice("test announcements");
    ctx.command({
      name: "announce",
      summary: "Say something as the server",
      params: [{ name: "text", kind: "text" }],
      handler: (call) => {
        voice.announce(call.args.text);
        return call.ok();
      },
    });
    ctx.command({
      name: "boom",
      summary: "Always throws",
      handler: () => {
        throw new Error("kaboom");
      },
    });
  },
};
export default plugin;
`,
  // One command per way a handler can fail; none of them may stop the server.
  "faulty.ts": `import type { Plugin } from "chatz/plugin";
const plugin: Plugin = {
  name: "faulty",
  description: "Fails in every way a command can",
  setup(ctx) {
    const cmd = (name: string, handler: Parameters<typeof ctx.command>[0]["handler"]) =>
      ctx.command({ name, summary: "Fails", handler });
    cmd("bigint", (call) => call.ok("x", { n: 1n }));
    cmd("bigint-async", async (call) => {
      await Promise.resolve();
      return call.ok("x", { n: 1n });
    });
    cmd("throw-async", async () => {
      await Promise.resolve();
      throw new Error("async kaboom");
    });
    cmd("never", () => new Promise(() => {}));
    cmd("garbage", () => 42 as never);
    cmd("late", (call) => {
      ctx.command({ name: "sneaky", summary: "Too late", handler: (c) => c.ok() });
      return call.ok("registered");
    });
    cmd("stray-timer", (call) => {
      setTimeout(() => {
        throw new Error("stray timer");
      }, 0);
      return call.ok("scheduled");
    });
    // The old API took the sender as an argument: passing someone else's now fails.
    cmd("forge", (call) => {
      const chat = call.chat as unknown as { sendPublic(from: unknown, text: string): unknown };
      return call.ok("sent", chat.sendPublic({ login: "bob", session: "x" }, "forged"));
    });
    cmd("forge-caller", (call) => {
      (call.caller as { login: string }).login = "bob";
      return call.ok("sent", call.chat.sendPublic("forged"));
    });
    cmd("stray-rejection", (call) => {
      Promise.reject(new Error("stray rejection"));
      return call.ok("scheduled");
    });
  },
};
export default plugin;
`,
  "stuck_setup.ts":
    `export default { name: "stuck", description: "Never finishes its setup", setup: () => new Promise(() => {}) };`,
  "broken_syntax.ts": "export default { name: 'broken', description: 'x', setup( {",
  "throws_setup.ts":
    `export default { name: "grumpy", description: "Fails at setup", setup() { throw new Error("no thanks"); } };`,
  "not_a_plugin.ts": `export default 42;`,
  "clash.ts": `export default {
  name: "clash",
  description: "Claims a built-in name",
  setup(ctx) { ctx.command({ name: "msg", summary: "Mine now", handler: (call) => call.ok("hijacked") }); },
};`,
};

Deno.test("drop-in plugins: new commands work and failures stay contained", opts, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "chatz-plugins-" });
  for (const [name, text] of Object.entries(PLUGINS)) {
    await Deno.writeTextFile(join(dir, name), text);
  }
  const server = await startServerProcess({ args: ["--plugins", dir, "--plugin-timeout", "1500"] });
  try {
    await t.step("each failed plugin is named on stderr", async () => {
      for (const name of ["broken_syntax.ts", "grumpy", "not_a_plugin.ts", "clash", "stuck"]) {
        await server.log.waitFor(
          (l) => l.startsWith("chatz: plugin failed") && l.includes(name),
          name,
        );
      }
      const clash = server.log.items.find((l) =>
        l.startsWith("chatz: plugin failed") && l.includes("clash")
      );
      assert.match(clash ?? "", /"msg".*taken by plugin "direct"/);
      assert.ok(
        server.log.items.some((l) => /"stuck".*setup did not settle within 1500 ms/.test(l)),
      );
    });
    const alice = await client(server.endpoint, "alice");
    const bob = await client(server.endpoint, "bob");
    await t.step("the new command is in the catalog and works", async () => {
      assert.ok(alice.conn.session.catalog.some((c) => c.name === "echo" && c.plugin === "echo"));
      const reply = await alice.cmd("echo", "hello  world");
      assert.deepEqual([reply.ok, reply.ok && reply.text], [true, "hello  world"]);
    });
    await t.step("a throwing handler is plugin_failed, logged with the plugin's name", async () => {
      const reply: Reply = await alice.cmd("boom");
      assert.equal(reply.ok ? "ok" : reply.code, "plugin_failed");
      assert.match(reply.ok ? "" : reply.message, /plugin "echo"/);
      await server.log.waitFor(
        (l) => /ERROR plugin_failed plugin=echo command=boom/.test(l),
        "the log line",
      );
    });
    const stillServing = async () => {
      const reply = await alice.cmd("echo", "still here");
      assert.deepEqual([reply.ok, reply.ok && reply.text], [true, "still here"]);
    };
    const failures: [string, RegExp][] = [
      ["bigint", /BigInt/],
      ["bigint-async", /BigInt/],
      ["throw-async", /async kaboom/],
      ["never", /did not settle within 1500 ms/],
      ["garbage", /returned no result/],
      ["late", /Cannot register command .*sneaky.*: plugin .*faulty.* finished its setup/],
      ["forge", /Cannot use the message text: expected a string, got object/],
      ["forge-caller", /Cannot assign to read only property 'login'/],
    ];
    for (const [command, why] of failures) {
      await t.step(
        `/${command} answers plugin_failed, logged, and the server goes on`,
        async () => {
          const reply = await alice.cmd(command);
          assert.equal(reply.ok ? "ok" : reply.code, "plugin_failed");
          assert.match(reply.ok ? "" : reply.message, /plugin "faulty" failed/);
          const line = await server.log.waitFor(
            (l) => l.includes(`plugin_failed plugin=faulty command=${command} `),
            `the log line of /${command}`,
          );
          assert.match(line, why);
          await stillServing();
        },
      );
    }
    await t.step("no forged message reached anyone", () => {
      assert.ok(!bob.events.items.some((e) => e.type === "message" && e.text === "forged"));
    });
    await t.step("the server's voice is a logged capability", async () => {
      const reply = await alice.cmd("announce", "maintenance at noon");
      assert.ok(reply.ok);
      await bob.events.waitFor(
        (e) => e.type === "notice" && e.text === "maintenance at noon",
        "the notice",
      );
      await server.log.waitFor((l) => /plugin_voice_granted plugin=echo/.test(l), "the grant");
      await server.log.waitFor((l) => /plugin_voice plugin=echo to=everyone/.test(l), "the use");
    });
    await t.step("a command registered after setup is not in the table", async () => {
      const reply = await alice.cmd("sneaky");
      assert.equal(reply.ok ? "ok" : reply.code, "unknown_command");
    });
    for (const stray of ["stray-timer", "stray-rejection"]) {
      await t.step(`an uncaught error of /${stray} is logged with the plugin's name`, async () => {
        const reply = await alice.cmd(stray);
        assert.ok(reply.ok);
        await server.log.waitFor(
          (l) =>
            /ERROR plugin_failed plugin=faulty uncaught=true/.test(l) &&
            l.includes(stray.replace("-", " ")),
          `the log line of /${stray}`,
        );
        await stillServing();
      });
    }
    await t.step("built-ins are untouched by the plugin that claimed their name", async () => {
      const reply = await alice.cmd("msg", "bob still mine");
      assert.ok(reply.ok && reply.text === undefined);
      await bob.events.waitFor((e) => e.type === "message" && e.text === "still mine", "the DM");
    });
    await alice.close();
    await bob.close();
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the example plugins work from the unchanged chatz client", opts, async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "chatz-test-" });
  const args = [
    "--plugins",
    join(ROOT, "plugins/examples"),
    "--plugin-option",
    "seen.greeting=Hello {login}, welcome back",
  ];
  let server = await startServerProcess({ dataDir, args });
  try {
    await t.step("/roll", async () => {
      const { code, stdout } = await runCli(
        ["connect", "--login", "alice", "--server", server.endpoint, "--json"],
        { stdin: "/help roll\n/roll 2d6\n", env: { CHATZ_PASSWORD: "pw" } },
      );
      assert.equal(code, 0);
      const [help, reply] = jsonLines(stdout).filter((l) => l.type !== "notice");
      assert.equal(help.type, "help");
      assert.match(String(help.text), /\/roll \[dice\]/);
      assert.equal(reply.type, "reply");
      assert.match(String(reply.text), /^You rolled 2d6: \d \+ \d = \d+$/);
    });
    await t.step("/seen: greets from its option, remembers logouts in its storage", async () => {
      const bob = await client(server.endpoint, "bob");
      await bob.events.waitFor(
        (e) => e.type === "notice" && e.text === "Hello bob, welcome back",
        "the greeting",
      );
      const carol = await client(server.endpoint, "carol");
      assert.equal((await carol.cmd("seen", "bob")).ok && "online", "online");
      await bob.close();
      const reply = await carol.cmd("seen", "BOB");
      assert.match(reply.ok ? reply.text ?? "" : reply.message, /^bob was last seen \d{4}-/);
      const missing = await carol.cmd("seen", "nobody");
      assert.equal(missing.ok ? "ok" : missing.code, "no_such_user");
      await carol.close();
    });
    await t.step("what /seen stored survives a restart", async () => {
      await server.stop();
      server = await startServerProcess({ dataDir, args });
      const carol = await client(server.endpoint, "carol");
      const reply = await carol.cmd("seen", "bob");
      assert.match(reply.ok ? reply.text ?? "" : reply.message, /^bob was last seen \d{4}-/);
      await carol.close();
    });
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
