// Tests of the command registry: declaration checks, name clashes, resolution, argument parsing,
// the catalog and dispatch with its central login check and error handling.

import assert from "node:assert/strict";
import { MAX_PASSWORD_LENGTH, MAX_TEXT_LENGTH } from "../../protocol/mod.ts";
import type {
  Caller,
  ChatServices,
  CommandCall,
  CommandResult,
  CommandSpec,
  ParamSpec,
} from "../../protocol/plugin.ts";
import { ChatError } from "../errors.ts";
import { parseArgs, Registry } from "./registry.ts";

/** Dispatch only hands the services to handlers; these tests never call them. */
const CHAT = {} as ChatServices;
const ALICE: Caller = { login: "alice", session: "s1" };

function spec(name: string, fields: Partial<CommandSpec> = {}): CommandSpec {
  return { name, summary: `Run ${name}`, handler: (call) => call.ok(name), ...fields };
}

/** Asserts that `fn` throws a ChatError with `code` and returns its message. */
function chatErrorOf(fn: () => unknown, code: ChatError["code"]): string {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ChatError, `expected a ChatError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught.message;
}

/** A registry holding the commands a chat server typically has. */
function sampleRegistry(): Registry {
  const registry = new Registry();
  registry.register(
    "direct",
    spec("msg", {
      aliases: ["m", "tell"],
      params: [{ name: "login", kind: "login" }, { name: "text", kind: "text" }],
    }),
  );
  registry.register("groups", spec("group join", { params: [{ name: "group", kind: "group" }] }));
  registry.register("groups", spec("group leave", { params: [{ name: "group", kind: "group" }] }));
  registry.register(
    "groups",
    spec("group say", {
      aliases: ["g"],
      params: [{ name: "group", kind: "group" }, { name: "text", kind: "text" }],
    }),
  );
  registry.register(
    "history",
    spec("history", {
      params: [{ name: "count", kind: "int", min: 1, max: 100, optional: true }],
    }),
  );
  return registry;
}

Deno.test("registry.register() refuses malformed command names", async (t) => {
  const bad = ["", "Msg", "MSG", "1msg", "-msg", "my_cmd", "msg!", "a b c", "group  join", " msg"];
  bad.push("a".repeat(33));
  for (const name of bad) {
    await t.step(JSON.stringify(name), () => {
      assert.throws(
        () => new Registry().register("p", spec(name)),
        /Cannot register command .*: a name is one or two lowercase words/,
      );
    });
  }
  await t.step("good names pass", () => {
    const registry = new Registry();
    for (const name of ["a", "msg", "x-1", "a".repeat(32), "group join", "my-group kick-out"]) {
      registry.register("p", spec(name));
    }
    assert.equal(registry.catalog().length, 6);
  });
});

Deno.test("registry.register() refuses an incomplete declaration", async (t) => {
  await t.step("no handler", () => {
    const broken = { name: "x", summary: "s" } as unknown as CommandSpec;
    assert.throws(() => new Registry().register("p", broken), /handler is not a function/);
  });
  await t.step("no summary", () => {
    assert.throws(() => new Registry().register("p", spec("x", { summary: "" })), /summary/);
  });
  await t.step("an alias that is not one lowercase word", () => {
    for (const alias of ["M", "two words", "", "a_b"]) {
      assert.throws(
        () => new Registry().register("p", spec("msg", { aliases: [alias] })),
        /alias .* is not one lowercase word/,
      );
    }
  });
});

Deno.test("registry.register() checks the parameter grammar", async (t) => {
  const refuse = (params: ParamSpec[], pattern: RegExp) =>
    assert.throws(() => new Registry().register("p", spec("x", { params })), pattern);

  await t.step("a text parameter must be last", () => {
    refuse(
      [{ name: "text", kind: "text" }, { name: "login", kind: "login" }],
      /text parameter "text" must be last/,
    );
  });
  await t.step("a required parameter may not follow an optional one", () => {
    refuse(
      [{ name: "a", kind: "word", optional: true }, { name: "b", kind: "word" }],
      /required "b" follows an optional one/,
    );
  });
  await t.step("an unknown kind", () => {
    const params = [{ name: "when", kind: "date" }] as unknown as ParamSpec[];
    refuse(params, /parameter "when" has unknown kind "date"/);
  });
  await t.step("a parameter declared twice", () => {
    refuse(
      [{ name: "a", kind: "word" }, { name: "a", kind: "int" }],
      /parameter "a" declared twice/,
    );
  });
  await t.step("an optional text last and optional after optional are fine", () => {
    new Registry().register(
      "p",
      spec("x", {
        params: [
          { name: "a", kind: "word" },
          { name: "b", kind: "int", optional: true },
          { name: "c", kind: "text", optional: true },
        ],
      }),
    );
  });
});

Deno.test("registry.register() refuses names and aliases another command holds", async (t) => {
  const clash = (setup: (r: Registry) => void, next: CommandSpec, pattern: RegExp) => {
    const registry = new Registry();
    setup(registry);
    const before = registry.catalog().length;
    assert.throws(() => registry.register("second", next), pattern);
    assert.equal(registry.catalog().length, before, "a refused command must not be added");
  };

  await t.step("the same name", () => {
    clash(
      (r) => r.register("first", spec("msg")),
      spec("msg"),
      /Cannot register command "msg": the name is taken by plugin "first" \("\/msg"\)/,
    );
  });
  await t.step("a name that is another command's alias", () => {
    clash(
      (r) => r.register("first", spec("msg", { aliases: ["tell"] })),
      spec("tell"),
      /"tell": the name is taken by plugin "first" \("\/msg"\)/,
    );
  });
  await t.step("an alias that is another command's name", () => {
    clash(
      (r) => r.register("first", spec("who")),
      spec("list", { aliases: ["who"] }),
      /alias "who" is taken by plugin "first" \("\/who"\)/,
    );
  });
  await t.step("an alias that is another command's alias", () => {
    clash(
      (r) => r.register("first", spec("msg", { aliases: ["m"] })),
      spec("me", { aliases: ["m"] }),
      /alias "m" is taken by plugin "first"/,
    );
  });
  await t.step("the same two-word name", () => {
    clash(
      (r) => r.register("first", spec("group join")),
      spec("group join"),
      /"group join": the name is taken by plugin "first"/,
    );
  });
  await t.step("a one-word name that is a subcommand prefix", () => {
    clash(
      (r) => r.register("first", spec("group join")),
      spec("group"),
      /"group": the name is taken by a subcommand group/,
    );
  });
  await t.step("a two-word name whose prefix is a one-word command", () => {
    clash(
      (r) => r.register("first", spec("group")),
      spec("group join"),
      /"group join": the name is taken by plugin "first" \("\/group"\)/,
    );
  });
  await t.step("a two-word name whose prefix is an alias", () => {
    clash(
      (r) => r.register("first", spec("msg", { aliases: ["g"] })),
      spec("g join"),
      /"g join": the name is taken by plugin "first" \("\/msg"\)/,
    );
  });
  await t.step("an alias that is a subcommand prefix", () => {
    clash(
      (r) => r.register("first", spec("group join")),
      spec("join", { aliases: ["group"] }),
      /alias "group" is taken by a subcommand group/,
    );
  });
  await t.step("subcommands of one prefix from two plugins do not clash", () => {
    const registry = new Registry();
    registry.register("first", spec("group join"));
    registry.register("second", spec("group kick"));
    assert.equal(registry.resolve("group", "kick x").command.plugin, "second");
  });
});

Deno.test("registry.resolve() finds a command by its name, in any case", () => {
  const registry = sampleRegistry();
  const { command, rest } = registry.resolve("msg", "bob hi");
  assert.equal(command.info.name, "msg");
  assert.equal(command.plugin, "direct");
  assert.equal(rest, "bob hi");
  assert.equal(registry.resolve("MSG", "").command.info.name, "msg");
});

Deno.test("registry.resolve() finds a command by its alias", () => {
  const registry = sampleRegistry();
  assert.equal(registry.resolve("m", "bob hi").command.info.name, "msg");
  assert.equal(registry.resolve("Tell", "bob hi").command.info.name, "msg");
  const g = registry.resolve("g", "ops hello");
  assert.equal(g.command.info.name, "group say");
  assert.equal(g.rest, "ops hello");
});

Deno.test("registry.resolve() takes a subcommand from the first word of the arguments", async (t) => {
  const registry = sampleRegistry();
  await t.step("the rest is what follows the subcommand", () => {
    const { command, rest } = registry.resolve("group", "join ops");
    assert.equal(command.info.name, "group join");
    assert.equal(rest, "ops");
  });
  await t.step("extra spaces and case do not matter", () => {
    const { command, rest } = registry.resolve("Group", "   SAY   ops  hello  there");
    assert.equal(command.info.name, "group say");
    assert.equal(rest, "ops  hello  there");
  });
  await t.step("a missing subcommand is unknown_command listing the choices", () => {
    const message = chatErrorOf(() => registry.resolve("group", "  "), "unknown_command");
    assert.match(message, /Cannot run "\/group": name a subcommand: join, leave, say/);
  });
  await t.step("an unknown subcommand is unknown_command", () => {
    const message = chatErrorOf(() => registry.resolve("group", "dance ops"), "unknown_command");
    assert.match(message, /"\/group dance": no such subcommand; try join, leave, say/);
  });
});

Deno.test("registry.resolve() refuses an unknown command with unknown_command", () => {
  const registry = sampleRegistry();
  const message = chatErrorOf(() => registry.resolve("dance", "x"), "unknown_command");
  assert.match(message, /Cannot run "\/dance": unknown command/);
  chatErrorOf(() => registry.resolve("join", "ops"), "unknown_command");
  chatErrorOf(() => registry.resolve("", ""), "unknown_command");
});

Deno.test("parseArgs() checks each parameter kind", async (t) => {
  const registry = new Registry();
  const info = (params: ParamSpec[]) => {
    const name = `c${registry.catalog().length}`;
    registry.register("p", spec(name, { params }));
    return registry.resolve(name, "").command.info;
  };

  await t.step("login and group take one valid name", () => {
    const cmd = info([{ name: "who", kind: "login" }, { name: "where", kind: "group" }]);
    assert.deepEqual(parseArgs(cmd, "  Bob   ops.team "), { who: "Bob", where: "ops.team" });
  });
  await t.step("an invalid login is invalid_name", () => {
    const cmd = info([{ name: "who", kind: "login" }]);
    const message = chatErrorOf(() => parseArgs(cmd, "bob!"), "invalid_name");
    assert.match(message, /"bob!" is not a valid login name/);
    chatErrorOf(() => parseArgs(cmd, "a".repeat(33)), "invalid_name");
  });
  await t.step("an invalid group is invalid_name", () => {
    const cmd = info([{ name: "where", kind: "group" }]);
    const message = chatErrorOf(() => parseArgs(cmd, "##ops"), "invalid_name");
    assert.match(message, /not a valid group name/);
  });
  await t.step("a group may be typed as it is shown, with one leading #", () => {
    const cmd = info([{ name: "where", kind: "group" }]);
    assert.deepEqual(parseArgs(cmd, "#ops"), { where: "ops" });
    chatErrorOf(() => parseArgs(info([{ name: "who", kind: "login" }]), "#bob"), "invalid_name");
  });
  await t.step("word takes one word of up to 200 characters", () => {
    const cmd = info([{ name: "w", kind: "word" }]);
    assert.deepEqual(parseArgs(cmd, "héllo!"), { w: "héllo!" });
    assert.deepEqual(parseArgs(cmd, "w".repeat(200)), { w: "w".repeat(200) });
    chatErrorOf(() => parseArgs(cmd, "w".repeat(201)), "too_large");
  });
  await t.step("secret takes one word up to the password limit", () => {
    const cmd = info([{ name: "pw", kind: "secret" }]);
    assert.deepEqual(parseArgs(cmd, "s3cr3t"), { pw: "s3cr3t" });
    const max = "p".repeat(MAX_PASSWORD_LENGTH);
    assert.deepEqual(parseArgs(cmd, max), { pw: max });
    chatErrorOf(() => parseArgs(cmd, max + "p"), "too_large");
  });
  await t.step("text takes the rest of the line, inner spacing kept", () => {
    const cmd = info([{ name: "to", kind: "login" }, { name: "text", kind: "text" }]);
    assert.deepEqual(parseArgs(cmd, " bob   hello   there  "), {
      to: "bob",
      text: "hello   there",
    });
  });
  await t.step(`text up to ${MAX_TEXT_LENGTH} characters, longer is too_large`, () => {
    const cmd = info([{ name: "text", kind: "text" }]);
    const max = "t".repeat(MAX_TEXT_LENGTH);
    assert.deepEqual(parseArgs(cmd, max), { text: max });
    const message = chatErrorOf(() => parseArgs(cmd, max + "t"), "too_large");
    assert.match(message, new RegExp(`text over ${MAX_TEXT_LENGTH} characters`));
  });
  await t.step("int gives a number", () => {
    const cmd = info([{ name: "n", kind: "int" }]);
    assert.deepEqual(parseArgs(cmd, "42"), { n: 42 });
    assert.deepEqual(parseArgs(cmd, "-7"), { n: -7 });
    assert.equal(typeof parseArgs(cmd, "0").n, "number");
  });
  await t.step("int refuses what is not a whole number with bad_arguments", () => {
    const cmd = info([{ name: "n", kind: "int" }]);
    for (const bad of ["1.5", "1e3", "0x10", "ten", "+5", "12abc", "1".repeat(16)]) {
      const message = chatErrorOf(() => parseArgs(cmd, bad), "bad_arguments");
      assert.match(message, /<n> must be a whole number/);
    }
  });
  await t.step("int bounds are inclusive", () => {
    const cmd = info([{ name: "count", kind: "int", min: 1, max: 100 }]);
    assert.deepEqual(parseArgs(cmd, "1"), { count: 1 });
    assert.deepEqual(parseArgs(cmd, "100"), { count: 100 });
    const low = chatErrorOf(() => parseArgs(cmd, "0"), "bad_arguments");
    assert.match(low, /<count> must be a whole number from 1 to 100, got "0"/);
    chatErrorOf(() => parseArgs(cmd, "101"), "bad_arguments");
  });
  await t.step("a one-sided bound is enforced too", () => {
    const cmd = info([{ name: "n", kind: "int", min: 0 }]);
    assert.deepEqual(parseArgs(cmd, "999999"), { n: 999999 });
    chatErrorOf(() => parseArgs(cmd, "-1"), "bad_arguments");
  });
});

Deno.test("parseArgs() checks the number of arguments", async (t) => {
  const registry = sampleRegistry();
  const msg = registry.resolve("msg", "").command.info;
  const history = registry.resolve("history", "").command.info;
  const join = registry.resolve("group", "join").command.info;

  await t.step("a missing required argument is bad_arguments with the usage", () => {
    const message = chatErrorOf(() => parseArgs(msg, "bob"), "bad_arguments");
    assert.match(message, /missing <text>; usage: \/msg <login> <text\.\.\.>/);
    chatErrorOf(() => parseArgs(msg, "   "), "bad_arguments");
  });
  await t.step("too many arguments is bad_arguments", () => {
    const message = chatErrorOf(() => parseArgs(join, "ops dev"), "bad_arguments");
    assert.match(message, /too many arguments; usage: \/group join <group>/);
    chatErrorOf(() => parseArgs(history, "5 6"), "bad_arguments");
  });
  await t.step("an optional argument may be left out", () => {
    assert.deepEqual(parseArgs(history, ""), {});
    assert.equal("count" in parseArgs(history, "  "), false);
    assert.deepEqual(parseArgs(history, "5"), { count: 5 });
  });
  await t.step("a command without parameters takes no arguments", () => {
    const registry = new Registry();
    registry.register("p", spec("who"));
    const who = registry.resolve("who", "").command.info;
    assert.deepEqual(parseArgs(who, ""), {});
    chatErrorOf(() => parseArgs(who, "x"), "bad_arguments");
  });
});

Deno.test("registry.catalog() lists every command sorted by name with its usage", () => {
  const registry = sampleRegistry();
  const catalog = registry.catalog();
  assert.deepEqual(catalog.map((c) => c.name), [
    "group join",
    "group leave",
    "group say",
    "history",
    "msg",
  ]);
  const byName = new Map(catalog.map((c) => [c.name, c]));
  assert.equal(byName.get("msg")?.usage, "/msg <login> <text...>");
  assert.equal(byName.get("group say")?.usage, "/group say <group> <text...>");
  assert.equal(byName.get("history")?.usage, "/history [count]");
  assert.deepEqual(byName.get("msg")?.aliases, ["m", "tell"]);
  assert.equal(byName.get("msg")?.plugin, "direct");
  assert.equal(byName.get("msg")?.summary, "Run msg");
  assert.deepEqual(byName.get("history")?.params, [
    { name: "count", kind: "int", min: 1, max: 100, optional: true },
  ]);
  assert.deepEqual(byName.get("msg")?.examples, []);
});

Deno.test("registry.catalog() shows an optional text parameter as [name...]", () => {
  const registry = new Registry();
  registry.register(
    "p",
    spec("away", {
      params: [{ name: "reason", kind: "text", optional: true }],
      examples: ["/away lunch"],
    }),
  );
  const [away] = registry.catalog();
  assert.equal(away.usage, "/away [reason...]");
  assert.deepEqual(away.examples, ["/away lunch"]);
});

Deno.test("registry.catalog() follows later registrations", () => {
  const registry = sampleRegistry();
  assert.equal(registry.catalog().length, 5);
  registry.register("late", spec("away"));
  assert.deepEqual(registry.catalog().map((c) => c.name).slice(0, 2), ["away", "group join"]);
});

Deno.test("registry.unregisterPlugin() removes a plugin's commands, aliases and prefixes", () => {
  const registry = sampleRegistry();
  registry.unregisterPlugin("groups");
  assert.deepEqual(registry.catalog().map((c) => c.name), ["history", "msg"]);
  chatErrorOf(() => registry.resolve("group", "join ops"), "unknown_command");
  chatErrorOf(() => registry.resolve("g", "ops hi"), "unknown_command");
  // Its names are free again, including the prefix as a one-word name.
  registry.register("other", spec("group"));
  registry.register("other", spec("say", { aliases: ["g"] }));
  assert.equal(registry.resolve("group", "").command.plugin, "other");
  assert.equal(registry.resolve("m", "").command.plugin, "direct");
});

Deno.test("registry.unregisterPlugin() keeps a prefix another plugin still uses", () => {
  const registry = new Registry();
  registry.register("first", spec("group join"));
  registry.register("second", spec("group kick"));
  registry.unregisterPlugin("first");
  assert.equal(registry.resolve("group", "kick x").command.info.name, "group kick");
  assert.throws(() => registry.register("third", spec("group")), /subcommand group/);
});

Deno.test("registry.dispatch() runs the handler with the caller and checked arguments", () => {
  const registry = new Registry();
  let seen: CommandCall | undefined;
  registry.register(
    "direct",
    spec("msg", {
      params: [{ name: "login", kind: "login" }, { name: "text", kind: "text" }],
      handler(call) {
        seen = call;
        return call.ok("sent", { n: 1 });
      },
    }),
  );
  const failures: unknown[] = [];
  const result = registry.dispatch(ALICE, { cmd: "msg", args: "bob  hi there" }, {
    services: () => CHAT,
    onPluginFailure: (...args) => failures.push(args),
  });
  assert.deepEqual(result, { ok: true, text: "sent", data: { n: 1 } });
  assert.equal(seen?.caller, ALICE);
  assert.equal(seen?.chat, CHAT);
  assert.deepEqual(seen?.args, { login: "bob", text: "hi there" });
  assert.deepEqual(seen?.fail("forbidden", "no"), { ok: false, code: "forbidden", message: "no" });
  assert.deepEqual(failures, []);
});

Deno.test("registry.dispatch() turns every failure into an error result with a code", async (t) => {
  const failures: [string, string, unknown][] = [];
  const options = {
    services: () => CHAT,
    onPluginFailure: (plugin: string, command: string, error: unknown) =>
      failures.push([plugin, command, error]),
  };
  const boom = new Error("boom");
  const registry = sampleRegistry();
  let ran = false;
  registry.register(
    "acct",
    spec("whoami", {
      handler(call) {
        ran = true;
        return call.ok();
      },
    }),
  );
  registry.register(
    "strict",
    spec("deny", {
      handler() {
        throw new ChatError("forbidden", "Cannot deny: nope");
      },
    }),
  );
  registry.register(
    "buggy",
    spec("crash", {
      handler() {
        throw boom;
      },
    }),
  );
  registry.register("rude", spec("refuse", { handler: (call) => call.fail("blocked", "no") }));

  const codeOf = (result: CommandResult | Promise<CommandResult>) => {
    assert.ok(!(result instanceof Promise));
    assert.equal(result.ok, false);
    return result.ok ? undefined : result.code;
  };

  await t.step("no caller is not_logged_in, and the handler does not run", () => {
    const result = registry.dispatch(undefined, { cmd: "whoami", args: "" }, options);
    assert.equal(codeOf(result), "not_logged_in");
    assert.equal(ran, false);
  });
  await t.step("no caller is not_logged_in even for an unknown command", () => {
    const result = registry.dispatch(undefined, { cmd: "nope", args: "" }, options);
    assert.equal(codeOf(result), "not_logged_in");
  });
  await t.step("an unknown command is unknown_command", () => {
    assert.equal(
      codeOf(registry.dispatch(ALICE, { cmd: "nope", args: "" }, options)),
      "unknown_command",
    );
  });
  await t.step("bad arguments never reach the handler", () => {
    assert.equal(
      codeOf(registry.dispatch(ALICE, { cmd: "whoami", args: "extra" }, options)),
      "bad_arguments",
    );
    assert.equal(
      codeOf(registry.dispatch(ALICE, { cmd: "msg", args: "bob!! hi" }, options)),
      "invalid_name",
    );
    assert.equal(ran, false);
  });
  await t.step("a handler's own error result passes through", () => {
    const result = registry.dispatch(ALICE, { cmd: "refuse", args: "" }, options);
    assert.deepEqual(result, { ok: false, code: "blocked", message: "no" });
  });
  await t.step("a ChatError thrown by the handler keeps its code", () => {
    const result = registry.dispatch(ALICE, { cmd: "deny", args: "" }, options);
    assert.deepEqual(result, { ok: false, code: "forbidden", message: "Cannot deny: nope" });
    assert.deepEqual(failures, []);
  });
  await t.step("any other error is plugin_failed and is reported", () => {
    const result = registry.dispatch(ALICE, { cmd: "crash", args: "" }, options);
    assert.equal(codeOf(result), "plugin_failed");
    assert.match(
      result instanceof Promise || result.ok ? "" : result.message,
      /Cannot run "\/crash": plugin "buggy" failed/,
    );
    assert.deepEqual(failures, [["buggy", "crash", boom]]);
    assert.ok(!JSON.stringify(result).includes("boom"), "the client must not see the error");
  });
  await t.step("a handler returning no result is plugin_failed", () => {
    failures.length = 0;
    registry.register(
      "lazy",
      spec("nothing", {
        handler: () => undefined as unknown as CommandResult,
      }),
    );
    const result = registry.dispatch(ALICE, { cmd: "nothing", args: "" }, options);
    assert.equal(codeOf(result), "plugin_failed");
    assert.equal(failures.length, 1);
    assert.equal(failures[0][0], "lazy");
  });
});

Deno.test("registry.dispatch() returns a promise for an async handler", async (t) => {
  const failures: [string, string, unknown][] = [];
  const options = {
    services: () => CHAT,
    onPluginFailure: (plugin: string, command: string, error: unknown) =>
      failures.push([plugin, command, error]),
  };
  const registry = new Registry();
  registry.register(
    "slow",
    spec("wait", {
      params: [{ name: "n", kind: "int" }],
      handler: async (call) => {
        await Promise.resolve();
        return call.ok(`waited ${call.args.n}`);
      },
    }),
  );
  registry.register(
    "slow",
    spec("deny", {
      handler: async () => {
        await Promise.resolve();
        throw new ChatError("forbidden", "Cannot deny: nope");
      },
    }),
  );
  registry.register(
    "slow",
    spec("crash", {
      handler: async () => {
        await Promise.resolve();
        throw new TypeError("bad");
      },
    }),
  );
  registry.register(
    "slow",
    spec("nothing", {
      handler: async () => {
        await Promise.resolve();
        return undefined as unknown as CommandResult;
      },
    }),
  );

  await t.step("resolves to the handler's result", async () => {
    const pending = registry.dispatch(ALICE, { cmd: "wait", args: "3" }, options);
    assert.ok(pending instanceof Promise);
    assert.deepEqual(await pending, { ok: true, text: "waited 3", data: undefined });
  });
  await t.step("a ChatError keeps its code", async () => {
    const result = await registry.dispatch(ALICE, { cmd: "deny", args: "" }, options);
    assert.deepEqual(result, { ok: false, code: "forbidden", message: "Cannot deny: nope" });
    assert.deepEqual(failures, []);
  });
  await t.step("any other error is plugin_failed and is reported", async () => {
    const result = await registry.dispatch(ALICE, { cmd: "crash", args: "" }, options);
    assert.equal(result.ok ? undefined : result.code, "plugin_failed");
    assert.equal(failures.length, 1);
    assert.deepEqual(failures[0].slice(0, 2), ["slow", "crash"]);
    assert.ok(failures[0][2] instanceof TypeError);
  });
  await t.step("no result is plugin_failed, not a rejected promise", async () => {
    failures.length = 0;
    const result = await registry.dispatch(ALICE, { cmd: "nothing", args: "" }, options);
    assert.equal(result.ok ? undefined : result.code, "plugin_failed");
    assert.deepEqual(failures.map((f) => f[1]), ["nothing"]);
  });
});
