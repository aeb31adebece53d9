// Tests of Tab completion: commands from the catalog, parameters by kind, nicks, cycling.

import assert from "node:assert/strict";
import type { CommandInfo } from "../../protocol/mod.ts";
import { complete, type CompletionSource } from "./completion.ts";

function command(name: string, params: CommandInfo["params"], aliases: string[] = []): CommandInfo {
  return { name, aliases, summary: "", usage: "", params, examples: [], plugin: "test" };
}

const SOURCE: CompletionSource = {
  catalog: [
    command("msg", [{ name: "login", kind: "login" }, { name: "text", kind: "text" }], ["m"]),
    command("me", [{ name: "text", kind: "text" }]),
    command("group join", [{ name: "group", kind: "group" }]),
    command("group say", [{ name: "group", kind: "group" }, { name: "text", kind: "text" }]),
    command("history", [
      { name: "target", kind: "word", optional: true },
      { name: "count", kind: "int", optional: true },
    ]),
    command("shout", [{ name: "text", kind: "text" }]),
  ],
  logins: ["alice", "albert", "bob"],
  groups: ["devs", "design"],
  clientCommands: ["window", "query", "close"],
};

Deno.test("complete() a login after /msg, then cycles on repeated Tab", () => {
  const first = complete("/msg al", "", SOURCE)!;
  assert.equal(first.before, "/msg alice ");
  const second = complete("/msg alice ", "", SOURCE, first.state)!;
  assert.equal(second.before, "/msg albert ");
  const third = complete(second.before, "", SOURCE, second.state)!;
  assert.equal(third.before, "/msg alice ");
  const back = complete(third.before, "", SOURCE, third.state, -1)!;
  assert.equal(back.before, "/msg albert ");
});

Deno.test("complete() command names from the catalog and the client's own commands", () => {
  assert.equal(complete("/sh", "", SOURCE)?.before, "/shout ");
  assert.equal(complete("/qu", "", SOURCE)?.before, "/query ");
  const m = complete("/m", "", SOURCE)!;
  assert.deepEqual(m.state.candidates, ["/m ", "/me ", "/msg "]);
});

Deno.test("complete() subcommands, then their parameters by kind", () => {
  assert.equal(complete("/group j", "", SOURCE)?.before, "/group join ");
  assert.deepEqual(complete("/group join de", "", SOURCE)?.state.candidates, ["devs ", "design "]);
  assert.deepEqual(complete("/history ", "", SOURCE)?.state.candidates, [
    "public ",
    "alice ",
    "albert ",
    "bob ",
    "#devs ",
    "#design ",
  ]);
  assert.equal(complete("/history bob 2", "", SOURCE), undefined, "nothing for an int");
});

Deno.test("complete() a nick at the start of a line as `nick: `, later words plainly", () => {
  assert.equal(complete("b", " rest", SOURCE)?.before, "bob: ");
  assert.equal(complete("hi b", "", SOURCE)?.before, "hi bob ");
  assert.equal(complete("/shout hey B", "", SOURCE)?.before, "/shout hey bob ");
  assert.equal(complete("zz", "", SOURCE), undefined);
});
