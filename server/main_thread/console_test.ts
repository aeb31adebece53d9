// Tests of the operator console's Ctrl-C handling, on a readline terminal over in-memory streams.
// Ctrl-C clears a typed line; only two on an empty line within the window stop the server.

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { INTERRUPT_WINDOW_MS, interruptAction, startConsole } from "./console.ts";

Deno.test("interruptAction() clears a typed line and stops only on a quick second empty Ctrl-C", () => {
  assert.equal(interruptAction("shutd", undefined, 1000), "clear");
  assert.equal(interruptAction("shutd", 900, 1000), "clear", "a typed line never stops");
  assert.equal(interruptAction("", undefined, 1000), "warn");
  assert.equal(interruptAction("", 1000, 1000 + INTERRUPT_WINDOW_MS), "stop");
  assert.equal(interruptAction("", 1000, 1001 + INTERRUPT_WINDOW_MS), "warn", "too late");
});

Deno.test("the console's Ctrl-C clears the line; twice on an empty line stops", async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = "";
  output.on("data", (chunk) => shown += String(chunk));
  let time = 10_000;
  let interrupts = 0;
  const ran: string[] = [];
  const console = startConsole({
    terminal: true,
    input,
    output,
    now: () => time,
    run: (line) => {
      ran.push(line);
      return Promise.resolve(`ran ${line}`);
    },
    onInterrupt: () => interrupts++,
  });
  /** Waits until `check` holds: polled, bounded in count and time. */
  const until = async (check: () => boolean, what: string) => {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(check(), `timed out waiting for ${what}`);
  };
  const cleared = () => shown.split("^C").length - 1;
  const warnings = () => shown.split("Press Ctrl-C again").length - 1;
  try {
    input.write("shutdown now\x03"); // Ctrl-C with a half-typed command
    await until(() => cleared() === 1, "the line cleared");
    assert.equal(interrupts, 0, "a typed line is only cleared");
    assert.equal(warnings(), 0);
    input.write("status\r");
    await until(() => ran.length === 1, "the next command");
    assert.deepEqual(ran, ["status"], "the half-typed text was dropped");

    input.write("\x03");
    await until(() => warnings() === 1, "the warning");
    assert.equal(interrupts, 0, "one Ctrl-C on an empty line warns");
    assert.match(shown, /Press Ctrl-C again within 2 s to stop the server, or type shutdown/);
    time += INTERRUPT_WINDOW_MS + 1;
    input.write("\x03");
    await until(() => warnings() === 2, "the second warning");
    assert.equal(interrupts, 0, "too late for the second: it warns again");
    time += 500;
    input.write("\x03");
    await until(() => interrupts === 1, "the stop");
  } finally {
    console.close();
    input.end();
  }
});
