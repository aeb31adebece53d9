// Tests of request validation: every op, and every way an untrusted message can be malformed.
// parseRequest is the first thing the server runs on decoded JSON, so each refusal is checked by code.

import assert from "node:assert/strict";
import type { ErrorCode } from "./errors.ts";
import type { Request } from "./messages.ts";
import { isRequestError, MAX_REQUEST_ID, parseRequest, type RequestError } from "./requests.ts";
import { MAX_ARGS_LENGTH, MAX_PASSWORD_LENGTH } from "./wire.ts";

/** Parses `value` and asserts it is a valid request. */
function accepted(value: unknown): Request {
  const result = parseRequest(value);
  assert.ok(!isRequestError(result), `expected a request, got ${JSON.stringify(result)}`);
  return result;
}

/** Parses `value` and asserts it fails with `code` (and, when given, carries back `id`). */
function refused(value: unknown, code: ErrorCode, id?: number): RequestError {
  const result = parseRequest(value);
  assert.ok(isRequestError(result), `expected an error, got ${JSON.stringify(result)}`);
  assert.equal(result.code, code);
  assert.equal(result.id, id);
  assert.match(result.message, /^Cannot /);
  return result;
}

Deno.test("parseRequest() accepts every op", async (t) => {
  await t.step("a login that resumes and a command with a client message id", () => {
    const login = accepted({ op: "login", id: 1, login: "a", token: "t", resume: 42 });
    assert.equal(login.op === "login" && login.resume, 42);
    const cmd = accepted({ op: "cmd", id: 2, cmd: "say", args: "hi", cid: "c-1" });
    assert.equal(cmd.op === "cmd" && cmd.cid, "c-1");
  });
  await t.step("ping", () => {
    assert.deepEqual(accepted({ op: "ping", id: 1 }), { op: "ping", id: 1 });
  });
  await t.step("logout", () => {
    assert.deepEqual(accepted({ op: "logout", id: 2 }), { op: "logout", id: 2 });
  });
  await t.step("login with every field", () => {
    assert.deepEqual(
      accepted({
        op: "login",
        id: 3,
        login: "alice",
        password: "pw",
        token: "tok",
        client: "cli",
        host: "box",
        echo: true,
      }),
      {
        op: "login",
        id: 3,
        login: "alice",
        password: "pw",
        token: "tok",
        client: "cli",
        host: "box",
        resume: undefined,
        echo: true,
      },
    );
  });
  await t.step("login with only a login", () => {
    assert.deepEqual(accepted({ op: "login", id: 4, login: "alice" }), {
      op: "login",
      id: 4,
      login: "alice",
      password: undefined,
      token: undefined,
      client: undefined,
      host: undefined,
      resume: undefined,
      echo: undefined,
    });
  });
  await t.step("cmd with args", () => {
    assert.deepEqual(accepted({ op: "cmd", id: 5, cmd: "msg", args: "bob hi" }), {
      op: "cmd",
      id: 5,
      cmd: "msg",
      args: "bob hi",
      cid: undefined,
    });
  });
  await t.step("cmd without args gets an empty string", () => {
    assert.deepEqual(accepted({ op: "cmd", id: 6, cmd: "who" }), {
      op: "cmd",
      id: 6,
      cmd: "who",
      args: "",
      cid: undefined,
    });
  });
  await t.step("unknown extra fields are dropped", () => {
    assert.deepEqual(accepted({ op: "ping", id: 7, extra: { deep: true } }), { op: "ping", id: 7 });
  });
});

Deno.test("parseRequest() accepts ids from 0 to MAX_REQUEST_ID", async (t) => {
  for (const id of [0, 1, 2 ** 31, MAX_REQUEST_ID]) {
    await t.step(String(id), () => {
      assert.equal(accepted({ op: "ping", id }).id, id);
    });
  }
});

Deno.test("parseRequest() refuses a missing or bad id with bad_request and no id", async (t) => {
  const cases: [string, unknown][] = [
    ["missing", undefined],
    ["negative", -1],
    ["a float", 1.5],
    ["a string", "1"],
    ["null", null],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["over MAX_REQUEST_ID", MAX_REQUEST_ID + 1],
    ["an array", [1]],
  ];
  for (const [what, id] of cases) {
    await t.step(what, () => {
      const error = refused({ op: "ping", id }, "bad_request");
      assert.match(error.message, /`id` must be a non-negative integer/);
    });
  }
  await t.step("a bad id wins over a bad op", () => {
    refused({ op: "nope", id: -3 }, "bad_request");
  });
});

Deno.test("parseRequest() refuses a message that is not a JSON object", async (t) => {
  for (const value of [null, undefined, 1, "ping", true, [], [{ op: "ping", id: 1 }]]) {
    await t.step(JSON.stringify(value) ?? "undefined", () => {
      const error = refused(value, "bad_request");
      assert.match(error.message, /not a JSON object/);
    });
  }
});

Deno.test("parseRequest() refuses an unknown or missing op", async (t) => {
  await t.step("unknown op gives unknown_op with the id", () => {
    const error = refused({ op: "shout", id: 9 }, "unknown_op", 9);
    assert.match(error.message, /unknown op "shout"/);
  });
  await t.step("a long unknown op is cut in the message", () => {
    const error = refused({ op: "x".repeat(1000), id: 9 }, "unknown_op", 9);
    assert.ok(error.message.length < 100, error.message);
  });
  await t.step("op names are case-sensitive", () => {
    refused({ op: "PING", id: 9 }, "unknown_op", 9);
  });
  await t.step("missing op gives bad_request with the id", () => {
    refused({ id: 9 }, "bad_request", 9);
  });
  await t.step("a non-string op gives bad_request with the id", () => {
    refused({ op: 1, id: 9 }, "bad_request", 9);
  });
});

Deno.test("parseRequest() checks login field types", async (t) => {
  await t.step("missing login", () => {
    refused({ op: "login", id: 1, password: "pw" }, "bad_request", 1);
  });
  await t.step("non-string login", () => {
    refused({ op: "login", id: 1, login: 42 }, "bad_request", 1);
  });
  for (const field of ["password", "token", "client"]) {
    await t.step(`non-string ${field}`, () => {
      const error = refused({ op: "login", id: 1, login: "a", [field]: 1 }, "bad_request", 1);
      assert.match(error.message, new RegExp(`\`${field}\` must be a string`));
    });
    await t.step(`null ${field}`, () => {
      refused({ op: "login", id: 1, login: "a", [field]: null }, "bad_request", 1);
    });
  }
});

Deno.test("parseRequest() bounds the size of login fields", async (t) => {
  await t.step(`a password of ${MAX_PASSWORD_LENGTH} characters is accepted`, () => {
    const password = "p".repeat(MAX_PASSWORD_LENGTH);
    const request = accepted({ op: "login", id: 1, login: "a", password });
    assert.equal(request.op === "login" && request.password, password);
  });
  await t.step("a longer password gives bad_password", () => {
    const password = "p".repeat(MAX_PASSWORD_LENGTH + 1);
    refused({ op: "login", id: 1, login: "a", password }, "bad_password", 1);
  });
  await t.step("a token of 256 characters is accepted", () => {
    accepted({ op: "login", id: 1, login: "a", token: "t".repeat(256) });
  });
  await t.step("a longer token gives too_large", () => {
    refused({ op: "login", id: 1, login: "a", token: "t".repeat(257) }, "too_large", 1);
  });
  await t.step("a longer client name gives too_large", () => {
    refused({ op: "login", id: 1, login: "a", client: "c".repeat(257) }, "too_large", 1);
  });
});

Deno.test("parseRequest() checks cmd fields", async (t) => {
  await t.step("missing cmd", () => {
    refused({ op: "cmd", id: 2, args: "x" }, "bad_request", 2);
  });
  await t.step("empty cmd", () => {
    refused({ op: "cmd", id: 2, cmd: "" }, "bad_request", 2);
  });
  await t.step("non-string cmd", () => {
    refused({ op: "cmd", id: 2, cmd: ["msg"] }, "bad_request", 2);
  });
  await t.step("a cmd of 64 characters is accepted", () => {
    accepted({ op: "cmd", id: 2, cmd: "c".repeat(64) });
  });
  await t.step("a longer cmd gives bad_request", () => {
    refused({ op: "cmd", id: 2, cmd: "c".repeat(65) }, "bad_request", 2);
  });
  await t.step("non-string args", () => {
    const error = refused({ op: "cmd", id: 2, cmd: "msg", args: 5 }, "bad_request", 2);
    assert.match(error.message, /`args` must be a string/);
  });
  await t.step(`args of ${MAX_ARGS_LENGTH} characters are accepted`, () => {
    const args = "a".repeat(MAX_ARGS_LENGTH);
    const request = accepted({ op: "cmd", id: 2, cmd: "say", args });
    assert.equal(request.op === "cmd" && request.args, args);
  });
  await t.step("longer args give too_large", () => {
    refused(
      { op: "cmd", id: 2, cmd: "say", args: "a".repeat(MAX_ARGS_LENGTH + 1) },
      "too_large",
      2,
    );
  });
});

Deno.test("isRequestError() tells errors from requests", () => {
  assert.equal(isRequestError({ op: "ping", id: 1 }), false);
  assert.equal(isRequestError({ code: "bad_request", message: "x" }), true);
});

Deno.test("parseRequest() refuses an echo flag that is not a boolean", () => {
  for (const echo of [1, "true", null]) {
    const result = parseRequest({ op: "login", id: 1, login: "a", echo });
    assert.ok(isRequestError(result) && result.code === "bad_request", `echo ${echo}`);
  }
});

Deno.test("parseRequest() refuses a bad resume cursor or client message id", () => {
  for (const resume of [-1, 1.5, "7", null]) {
    const result = parseRequest({ op: "login", id: 1, login: "a", resume });
    assert.ok(isRequestError(result) && result.code === "bad_request", `resume ${resume}`);
  }
  for (const cid of ["", "x".repeat(65), 7]) {
    const result = parseRequest({ op: "cmd", id: 1, cmd: "say", args: "", cid });
    assert.ok(isRequestError(result) && result.code === "bad_request", `cid ${cid}`);
  }
});

Deno.test("parseRequest() refuses an empty token and takes a null args as none", () => {
  const empty = parseRequest({ op: "login", id: 1, login: "bob", password: "pw", token: "" });
  assert.ok(isRequestError(empty));
  assert.equal(empty.code, "bad_request");
  assert.match(empty.message, /`token` must not be empty/);
  assert.deepEqual(parseRequest({ op: "cmd", id: 2, cmd: "say", args: null }), {
    op: "cmd",
    id: 2,
    cmd: "say",
    args: "",
    cid: undefined,
  });
});
