// Tests of the input line's questions: yes/no keys, pastes, secrets.

import assert from "node:assert/strict";
import { pasteOutcome, pastePrompt, secretAnswered, yesNo } from "./questions.ts";

Deno.test("yesNo() takes y and n in any case, Esc and Ctrl-C as no, nothing else", () => {
  assert.equal(yesNo({ kind: "text", text: "Y" }), "yes");
  assert.equal(yesNo({ kind: "text", text: "n" }), "no");
  assert.equal(yesNo({ kind: "key", name: "escape" }), "no");
  assert.equal(yesNo({ kind: "ctrl", letter: "c" }), "no");
  assert.equal(yesNo({ kind: "key", name: "enter" }), undefined);
  assert.equal(yesNo({ kind: "text", text: "x" }), undefined);
});

Deno.test("pasteOutcome() keeps editing a line that only ended with line breaks", () => {
  assert.deepEqual(pasteOutcome("say ", "hello\n\n"), { line: "say hello" });
  assert.deepEqual(pasteOutcome("", "a\nb\n"), { message: "a\nb" });
  assert.equal(
    pastePrompt("a\nb\nc", "#devs"),
    "Send 3 pasted lines as one message to #devs? (y/n) ",
  );
});

Deno.test("secretAnswered() asks each secret in turn and refuses more than one word", () => {
  const question = {
    action: { kind: "send" as const, cmd: "passwd", args: "" },
    names: ["current", "new"],
    values: [],
  };
  assert.deepEqual(secretAnswered(question, "old"), { next: true });
  assert.deepEqual(secretAnswered({ ...question, values: ["old"] }, "two words"), {
    error: 'Cannot use secret "new": it must be one word',
  });
  assert.deepEqual(secretAnswered(question, "new"), {
    done: { kind: "send", cmd: "passwd", args: "old new", sensitive: true },
  });
});
