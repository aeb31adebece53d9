// Tests of input-line parsing and of the help texts built from the command catalog.
// The catalog below mimics what a server sends: one-word and two-word commands, aliases, secrets.

import assert from "node:assert/strict";
import type { CommandInfo } from "../protocol/mod.ts";
import {
  appendSecrets,
  formatCommandHelp,
  formatHelp,
  parseInput,
  resolveCommand,
  secretsDiffer,
} from "./input.ts";

function command(info: Partial<CommandInfo> & Pick<CommandInfo, "name">): CommandInfo {
  return {
    aliases: [],
    summary: `Summary of ${info.name}`,
    usage: `/${info.name}`,
    params: [],
    examples: [],
    plugin: "core",
    ...info,
  };
}

const CATALOG: CommandInfo[] = [
  command({
    name: "say",
    summary: "Say something in the public room",
    usage: "/say <text>",
    params: [{ name: "text", kind: "text" }],
  }),
  command({
    name: "msg",
    aliases: ["m", "tell"],
    summary: "Send a direct message",
    usage: "/msg <login> <text>",
    params: [{ name: "login", kind: "login" }, { name: "text", kind: "text" }],
    examples: ["/msg bob hello", "/m bob are you there?"],
  }),
  command({
    name: "group join",
    summary: "Join a group",
    usage: "/group join <name>",
    params: [{ name: "name", kind: "group" }],
  }),
  command({
    name: "group say",
    aliases: ["g"],
    summary: "Say something in a group",
    usage: "/group say <group> <text>",
    params: [{ name: "group", kind: "group" }, { name: "text", kind: "text" }],
  }),
  command({
    name: "passwd",
    summary: "Change your password",
    usage: "/passwd <current> <new>",
    params: [{ name: "current", kind: "secret" }, { name: "new", kind: "secret" }],
  }),
  command({
    name: "register",
    summary: "Create an account for someone",
    usage: "/register <login> <password>",
    params: [{ name: "login", kind: "login" }, { name: "password", kind: "secret" }],
  }),
  command({
    name: "lock",
    summary: "Lock a group with an optional key",
    usage: "/lock <group> [key]",
    params: [{ name: "group", kind: "group" }, { name: "key", kind: "secret", optional: true }],
  }),
];

Deno.test("parseInput() sends a plain line to the public room", async (t) => {
  await t.step("text without a slash is said as typed", () => {
    assert.deepEqual(parseInput("hello world", CATALOG), {
      kind: "send",
      cmd: "say",
      args: "hello world",
    });
  });
  await t.step("a line indented before its slash is text too", () => {
    assert.deepEqual(parseInput("  /quit", CATALOG), { kind: "send", cmd: "say", args: "  /quit" });
  });
  await t.step("a double slash says the line from its second slash", () => {
    assert.deepEqual(parseInput("//etc/hosts is a file", CATALOG), {
      kind: "send",
      cmd: "say",
      args: "/etc/hosts is a file",
    });
  });
});

Deno.test("parseInput() ignores an empty or blank line", () => {
  assert.deepEqual(parseInput("", CATALOG), { kind: "none" });
  assert.deepEqual(parseInput(" \t ", CATALOG), { kind: "none" });
});

Deno.test("parseInput() sends a slash command as its first word and the rest", async (t) => {
  await t.step("one-word command", () => {
    assert.deepEqual(parseInput("/msg bob  hi there", CATALOG), {
      kind: "send",
      cmd: "msg",
      args: "bob  hi there",
    });
  });
  await t.step("two-word command keeps its subcommand in the arguments", () => {
    assert.deepEqual(parseInput("/group join ops", CATALOG), {
      kind: "send",
      cmd: "group",
      args: "join ops",
    });
  });
  await t.step("command without arguments", () => {
    assert.deepEqual(parseInput("/who", CATALOG), { kind: "send", cmd: "who", args: "" });
  });
  await t.step("command missing from the catalog still goes to the server", () => {
    assert.deepEqual(parseInput("/frobnicate  x ", CATALOG), {
      kind: "send",
      cmd: "frobnicate",
      args: "x",
    });
  });
  await t.step("a slash without a command name is a local error", () => {
    for (const line of ["/", "/   ", "/ msg bob hi"]) {
      const action = parseInput(line, CATALOG);
      assert.equal(action.kind, "error", line);
      assert.equal(action.kind === "error" && action.code, "unknown_command");
    }
  });
});

Deno.test("parseInput() handles /quit, /exit and /help locally", async (t) => {
  await t.step("quit and its alias, in any case", () => {
    assert.deepEqual(parseInput("/quit", CATALOG), { kind: "quit" });
    assert.deepEqual(parseInput("/exit", CATALOG), { kind: "quit" });
    assert.deepEqual(parseInput("/QUIT now", CATALOG), { kind: "quit" });
  });
  await t.step("help without a topic lists the catalog", () => {
    assert.deepEqual(parseInput("/help", CATALOG), { kind: "help", text: formatHelp(CATALOG) });
  });
  await t.step("help for a command name, a two-word name or an alias shows its details", () => {
    const msg = formatCommandHelp(CATALOG[1]);
    assert.deepEqual(parseInput("/help msg", CATALOG), { kind: "help", text: msg });
    assert.deepEqual(parseInput("/help /tell", CATALOG), { kind: "help", text: msg });
    assert.deepEqual(parseInput("/help group  JOIN", CATALOG), {
      kind: "help",
      text: formatCommandHelp(CATALOG[2]),
    });
    assert.deepEqual(parseInput("/help g", CATALOG), {
      kind: "help",
      text: formatCommandHelp(CATALOG[3]),
    });
  });
  await t.step("help for a prefix lists its subcommands", () => {
    const action = parseInput("/help group", CATALOG);
    assert.equal(action.kind, "help");
    const text = action.kind === "help" ? action.text : "";
    assert.equal(
      text,
      [
        "Commands under /group (/help COMMAND for details):",
        "  /group join <name>         Join a group",
        "  /group say <group> <text>  Say something in a group (also /g)",
      ].join("\n"),
    );
  });
  await t.step("help for the client's own commands", () => {
    const action = parseInput("/help exit", CATALOG);
    assert.equal(action.kind, "help");
    assert.ok(
      action.kind === "help" && action.text.startsWith("/quit\n  Log out and leave"),
    );
  });
  await t.step("help for an unknown topic is a local error naming it", () => {
    assert.deepEqual(parseInput("/help nosuch thing", CATALOG), {
      kind: "error",
      code: "unknown_command",
      message: 'Cannot show help for "nosuch thing": no such command',
    });
    // A prefix must end at a word boundary: "gro" is not "group".
    assert.equal(parseInput("/help gro", CATALOG).kind, "error");
  });
});

Deno.test("parseInput() asks for secret parameters the line leaves out", async (t) => {
  await t.step("all secrets missing", () => {
    assert.deepEqual(parseInput("/passwd", CATALOG), {
      kind: "send",
      cmd: "passwd",
      args: "",
      sensitive: true,
      missingSecrets: ["current", "new"],
    });
  });
  await t.step("only the secrets after the given ones", () => {
    assert.deepEqual(parseInput("/passwd hunter2", CATALOG), {
      kind: "send",
      cmd: "passwd",
      args: "hunter2",
      sensitive: true,
      missingSecrets: ["new"],
    });
  });
  await t.step("nothing missing: sent as typed, still marked sensitive for history", () => {
    assert.deepEqual(parseInput("/passwd old new", CATALOG), {
      kind: "send",
      cmd: "passwd",
      args: "old new",
      sensitive: true,
    });
  });
  await t.step("after the non-secret parameters before them", () => {
    assert.deepEqual(parseInput("/register carol", CATALOG), {
      kind: "send",
      cmd: "register",
      args: "carol",
      sensitive: true,
      missingSecrets: ["password"],
    });
  });
  await t.step("not when a non-secret parameter is missing too: the server explains", () => {
    assert.deepEqual(parseInput("/register", CATALOG), {
      kind: "send",
      cmd: "register",
      args: "",
      sensitive: true,
    });
  });
  await t.step("not for an optional secret", () => {
    assert.deepEqual(parseInput("/lock ops", CATALOG), {
      kind: "send",
      cmd: "lock",
      args: "ops",
      sensitive: true,
    });
  });
  await t.step("resolved through the command name's case", () => {
    const action = parseInput("/PASSWD", CATALOG);
    assert.equal(action.kind === "send" && action.missingSecrets?.length, 2);
  });
  await t.step("appendSecrets() puts the answers after the typed arguments", () => {
    const action = parseInput("/passwd old", CATALOG);
    assert.equal(action.kind, "send");
    if (action.kind !== "send") return;
    assert.deepEqual(appendSecrets(action, ["n3w"]), {
      kind: "send",
      cmd: "passwd",
      args: "old n3w",
      sensitive: true,
    });
  });
});

Deno.test("resolveCommand() finds two-word commands, names and aliases", () => {
  assert.equal(resolveCommand(CATALOG, "group", "say ops hi")?.info.name, "group say");
  assert.equal(resolveCommand(CATALOG, "group", "say ops hi")?.rest, "ops hi");
  assert.equal(resolveCommand(CATALOG, "g", "ops hi")?.info.name, "group say");
  assert.equal(resolveCommand(CATALOG, "g", "ops hi")?.rest, "ops hi");
  assert.equal(resolveCommand(CATALOG, "Tell", "bob x")?.info.name, "msg");
  assert.equal(resolveCommand(CATALOG, "group", "leave ops"), undefined);
});

Deno.test("formatHelp() lists every command with its grammar, summary and aliases", () => {
  assert.equal(
    formatHelp(CATALOG.slice(0, 3)),
    [
      "Commands (/help COMMAND for details):",
      "  /group join <name>   Join a group",
      "  /help [command]      Show the commands, or the details of one",
      "  /msg <login> <text>  Send a direct message (also /m, /tell)",
      "  /quit                Log out and leave (also /exit)",
      "  /say <text>          Say something in the public room",
      "Other lines go to the public room; begin a line with // to send text that starts with /.",
    ].join("\n"),
  );
});

Deno.test("formatHelp() lets the client's /help and /quit shadow server commands", () => {
  const text = formatHelp([command({ name: "help", summary: "Server help" })]);
  assert.doesNotMatch(text, /Server help/);
  assert.match(text, /\/help \[command\]/);
});

Deno.test("formatCommandHelp() shows usage, summary, aliases, secrets and examples", async (t) => {
  await t.step("a command with aliases and examples", () => {
    assert.equal(
      formatCommandHelp(CATALOG[1]),
      [
        "/msg <login> <text>",
        "  Send a direct message",
        "  Aliases: /m, /tell",
        "  Examples:",
        "    /msg bob hello",
        "    /m bob are you there?",
      ].join("\n"),
    );
  });
  await t.step("a command with secrets says they are asked for", () => {
    assert.equal(
      formatCommandHelp(CATALOG[4]),
      [
        "/passwd <current> <new>",
        "  Change your password",
        "  Left-out secrets (<current>, <new>) are asked for without echo",
      ].join("\n"),
    );
  });
  await t.step("a command without a usage line gets one from its parameters", () => {
    const info = command({
      name: "topic",
      usage: "",
      params: [{ name: "group", kind: "group" }, { name: "text", kind: "text", optional: true }],
    });
    assert.equal(formatCommandHelp(info), "/topic <group> [text]\n  Summary of topic");
  });
});

Deno.test("parseInput() asks a confirmed secret twice under its prompt label", () => {
  const catalog = [{
    name: "passwd",
    aliases: [],
    plugin: "account",
    summary: "Change your password",
    usage: "/passwd <current> <new>",
    params: [
      { name: "current", kind: "secret" as const, prompt: "Current password" },
      { name: "new", kind: "secret" as const, prompt: "New password", confirm: true },
    ],
    examples: [],
  }];
  const action = parseInput("/passwd", catalog);
  assert.equal(action.kind, "send");
  if (action.kind !== "send") return;
  assert.deepEqual(action.missingSecrets, [
    "Current password",
    "New password",
    "New password again",
  ]);
  assert.equal(
    secretsDiffer(action, ["old", "new1", "new2"]),
    "Cannot use the New password: the two entries differ",
  );
  assert.equal(secretsDiffer(action, ["old", "new1"]), undefined, "not yet typed twice");
  assert.equal(secretsDiffer(action, ["old", "new1", "new1"]), undefined);
  assert.equal(appendSecrets(action, ["old", "new1", "new1"]).args, "old new1");
});

Deno.test("formatHelp() and formatCommandHelp() keep a server's control characters off the terminal", () => {
  const rogue: CommandInfo = {
    ...CATALOG[1],
    summary: "Send \x1b]52;c;cm0gLXJmIH4=\x07 text\u202e",
    usage: "/msg\x1b]0;owned\x07 <login>",
    examples: ["/msg bob \x9b2J"],
  };
  for (const text of [formatHelp([rogue]), formatCommandHelp(rogue)]) {
    for (const c of ["\x1b", "\x07", "\x9b", "\u202e"]) assert.ok(!text.includes(c));
    assert.match(text, /\uFFFD/);
  }
});
