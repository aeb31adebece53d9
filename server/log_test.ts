// Tests of log line rendering: fields as key=value, quoted when needed, nothing that can steer a terminal.
// Values come from clients (logins, hosts), so escape sequences must never reach the log raw.

import assert from "node:assert/strict";
import { formatJsonRecord, formatRecord, printable } from "./log.ts";

Deno.test("formatRecord() writes key=value and quotes values with spaces", () => {
  const line = formatRecord({
    ts: 0,
    level: "info",
    event: "login",
    fields: { login: "bob", why: "a b" },
  });
  assert.equal(line, '1970-01-01T00:00:00.000Z INFO login login=bob why="a b"');
});

Deno.test("formatRecord() escapes control characters a client could send", () => {
  const evil = "x\u001b[2J\u001b[31mOWNED\u0007\u009b\u007f\u202e";
  const line = formatRecord({
    ts: 0,
    level: "warn",
    event: "login_refused",
    fields: { login: evil },
  });
  const raw = [...line].filter((c) => c.charCodeAt(0) < 0x20 || (c >= "\u007f" && c <= "\u009f"));
  assert.deepEqual(raw, [], "no raw control character");
  assert.ok(!line.includes("\u202e"), "no raw bidi override");
  assert.match(line, /login="x\\u001b\[2J\\u001b\[31mOWNED\\u0007\\u009b\\u007f\\u202e"/);
});

Deno.test("printable() replaces terminal controls in short labels", () => {
  assert.equal(printable("h\u001b]0;pwned\u0007"), "h?]0;pwned?");
  assert.equal(printable("laptop-1"), "laptop-1");
});

Deno.test("formatJsonRecord() writes one object with time, level, event and the fields", () => {
  const line = formatJsonRecord({
    ts: 0,
    level: "warn",
    event: "login_refused",
    fields: { login: "x\u009b\u202ey", level: "shadowed", skipped: undefined },
  });
  assert.ok(!line.includes("\u009b") && !line.includes("\u202e"), "no raw C1 or bidi control");
  assert.deepEqual(JSON.parse(line), {
    ts: "1970-01-01T00:00:00.000Z",
    level: "warn",
    event: "login_refused",
    login: "x\u009b\u202ey",
    field_level: "shadowed",
  });
});
