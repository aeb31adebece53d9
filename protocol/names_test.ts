// Tests of the naming rule for logins and group names, and of their case-insensitive key.
// The rule is a security boundary: names end up in logs, events and history keys.

import assert from "node:assert/strict";
import { isValidName, MAX_NAME_LENGTH, NAME_RULE, nameKey } from "./names.ts";

Deno.test("isValidName() accepts letters, digits, '_', '.' and '-'", async (t) => {
  for (
    const name of ["a", "Z", "0", "_", ".", "-", "alice", "Bob_2", "ops.team", "x-y", "a.b_c-d"]
  ) {
    await t.step(name, () => assert.equal(isValidName(name), true));
  }
  await t.step(`exactly ${MAX_NAME_LENGTH} characters`, () => {
    assert.equal(isValidName("a".repeat(MAX_NAME_LENGTH)), true);
  });
});

Deno.test("isValidName() refuses names that break the rule", async (t) => {
  const bad: [string, string][] = [
    ["empty", ""],
    [`${MAX_NAME_LENGTH + 1} characters`, "a".repeat(MAX_NAME_LENGTH + 1)],
    ["a space", "al ice"],
    ["a leading space", " alice"],
    ["a trailing newline", "alice\n"],
    ["a tab", "a\tb"],
    ["a slash", "a/b"],
    ["a colon", "a:b"],
    ["an at sign", "a@b"],
    ["a hash", "#ops"],
    ["a star", "*"],
    ["a quote", 'a"b'],
    ["an accented letter", "é"],
    ["a non-Latin letter", "世界"],
    ["an emoji", "🎉"],
    ["a NUL", "a\0b"],
  ];
  for (const [what, name] of bad) {
    await t.step(what, () => assert.equal(isValidName(name), false));
  }
});

Deno.test("NAME_RULE states the same length limit as MAX_NAME_LENGTH", () => {
  assert.match(NAME_RULE, new RegExp(`1 to ${MAX_NAME_LENGTH} characters`));
});

Deno.test("nameKey() makes names that differ only in case one key", async (t) => {
  await t.step("mixed case", () => {
    assert.equal(nameKey("Alice"), nameKey("aLICE"));
    assert.equal(nameKey("Alice"), "alice");
  });
  await t.step("other characters are kept", () => {
    assert.equal(nameKey("Ops.Team_2-X"), "ops.team_2-x");
  });
  await t.step("different names stay different", () => {
    assert.notEqual(nameKey("alice"), nameKey("alice2"));
    assert.notEqual(nameKey("a.b"), nameKey("a-b"));
  });
});
