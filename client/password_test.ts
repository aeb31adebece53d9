// Tests of the password sources and of the hidden prompt's key handling.
// The terminal prompt itself needs a terminal; its editing logic (applyKeys) is tested here.

import assert from "node:assert/strict";
import { applyKeys, getPassword, PasswordError, readPasswordFile } from "./password.ts";

const encoder = new TextEncoder();

function typeKeys(...chunks: string[]): { result: string; typed: string } {
  const typed: number[] = [];
  let result = "more";
  for (const chunk of chunks) {
    result = applyKeys(typed, encoder.encode(chunk));
    if (result !== "more") break;
  }
  return { result, typed: new TextDecoder().decode(new Uint8Array(typed)) };
}

Deno.test("applyKeys() edits a hidden answer like a terminal line", async (t) => {
  await t.step("Enter ends, in one chunk or many", () => {
    assert.deepEqual(typeKeys("hunter2\r"), { result: "done", typed: "hunter2" });
    assert.deepEqual(typeKeys("hun", "ter", "2", "\n"), { result: "done", typed: "hunter2" });
  });
  await t.step("Backspace removes a whole character, multi-byte ones too", () => {
    assert.deepEqual(typeKeys("abc\x7f\x7fd\r"), { result: "done", typed: "ad" });
    assert.deepEqual(typeKeys("pé", "\x7f", "e\r"), { result: "done", typed: "pe" });
    assert.deepEqual(typeKeys("\x08\x08x\r"), { result: "done", typed: "x" });
  });
  await t.step("Ctrl-U clears, other controls and arrow keys are ignored", () => {
    assert.deepEqual(typeKeys("wrong\x15right\t\r"), { result: "done", typed: "right" });
    assert.deepEqual(typeKeys("ab", "\x1b[D", "c\r"), { result: "done", typed: "abc" });
  });
  await t.step("Ctrl-C aborts; Ctrl-D aborts only an empty answer", () => {
    assert.equal(typeKeys("secret\x03").result, "abort");
    assert.equal(typeKeys("\x04").result, "abort");
    assert.deepEqual(typeKeys("ab\x04c\r"), { result: "done", typed: "abc" });
  });
  await t.step("an empty answer is allowed", () => {
    assert.deepEqual(typeKeys("\r"), { result: "done", typed: "" });
  });
});

Deno.test("readPasswordFile() returns the first line without its line ending", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("LF and CRLF", async () => {
      await Deno.writeTextFile(`${dir}/lf`, "s3cret pass\nsecond line\n");
      await Deno.writeTextFile(`${dir}/crlf`, "s3cret\r\n");
      await Deno.writeTextFile(`${dir}/bare`, "s3cret");
      assert.equal(await readPasswordFile(`${dir}/lf`), "s3cret pass");
      assert.equal(await readPasswordFile(`${dir}/crlf`), "s3cret");
      assert.equal(await readPasswordFile(`${dir}/bare`), "s3cret");
    });
    await t.step("an empty first line is an error naming the file", async () => {
      await Deno.writeTextFile(`${dir}/empty`, "\nlater");
      await assert.rejects(readPasswordFile(`${dir}/empty`), {
        name: "PasswordError",
        message: `Cannot read password file "${dir}/empty": the first line is empty`,
      });
    });
    await t.step("a missing file is an error naming the file", async () => {
      await assert.rejects(readPasswordFile(`${dir}/nope`), (error) => {
        assert.ok(error instanceof PasswordError);
        assert.equal(error.code, "bad_password");
        assert.equal(error.message, `Cannot read password file "${dir}/nope": no such file`);
        return true;
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("getPassword() prefers the file, then CHATZ_PASSWORD", async () => {
  const dir = await Deno.makeTempDir();
  const saved = Deno.env.get("CHATZ_PASSWORD");
  try {
    Deno.env.set("CHATZ_PASSWORD", "from-env");
    await Deno.writeTextFile(`${dir}/pw`, "from-file\n");
    assert.equal(await getPassword({ login: "bob", passwordFile: `${dir}/pw` }), "from-file");
    assert.equal(await getPassword({ login: "bob" }), "from-env");
  } finally {
    if (saved === undefined) Deno.env.delete("CHATZ_PASSWORD");
    else Deno.env.set("CHATZ_PASSWORD", saved);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("getPassword() warns when the password file can be read by other users", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/pw`;
    await Deno.writeTextFile(file, "s3cret\n");
    const warnings: string[] = [];
    const warn = (line: string) => warnings.push(line);
    await Deno.chmod(file, 0o600);
    assert.equal(await getPassword({ login: "bob", passwordFile: file, warn }), "s3cret");
    assert.deepEqual(warnings, [], "a private file is fine");
    await Deno.chmod(file, 0o644);
    assert.equal(await getPassword({ login: "bob", passwordFile: file, warn }), "s3cret");
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /can be read by other users \(mode 0644\); make it private: chmod 600/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
