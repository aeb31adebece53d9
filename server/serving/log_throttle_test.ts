// Tests of throttled warnings: a burst per source, then debug lines, and the count held back.

import assert from "node:assert/strict";
import type { Logger } from "../log.ts";
import { throttledWarning } from "./log_throttle.ts";

/** A logger that records (level, event, fields). */
function recordingLog(): { log: Logger; lines: [string, string, Record<string, unknown>][] } {
  const lines: [string, string, Record<string, unknown>][] = [];
  const at = (level: string) => (event: string, fields: Record<string, unknown> = {}) => {
    lines.push([level, event, fields]);
  };
  return {
    log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    lines,
  };
}

Deno.test("throttledWarning() warns a burst per source, then debug, then says what it held back", () => {
  const { log, lines } = recordingLog();
  const warning = throttledWarning(log, "x_refused", { burst: 2, perSecond: 1 });
  for (let i = 0; i < 5; i++) warning.warn("a", { i }, 0);
  warning.warn("b", { i: 9 }, 0);
  assert.deepEqual(lines.map(([level]) => level), [
    "warn",
    "warn",
    "debug",
    "debug",
    "debug",
    "warn",
  ]);
  warning.warn("a", { i: 5 }, 1000); // one token back after a second
  assert.deepEqual(lines.at(-1), ["warn", "x_refused", { i: 5, suppressed: 3 }]);
  warning.warn("a", { i: 6 }, 1000);
  assert.deepEqual(lines.at(-1), ["debug", "x_refused", { i: 6 }]);
});
