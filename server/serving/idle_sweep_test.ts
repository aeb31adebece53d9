// Tests of the idle-connection sweep over a simulated set of connections and a test clock: what it
// closes, what it leaves, how it logs, paces its scans and copes with a system that cannot list them.

import assert from "node:assert/strict";
import type { Logger } from "../log.ts";
import { createIdleSweep, type IdleConnection } from "./idle_sweep.ts";

interface Line {
  level: string;
  event: string;
  fields?: Record<string, unknown>;
}

/** Connections by descriptor with the time data last arrived, a clock and a recording log. */
function world(limitMs = 60_000) {
  const state = { time: 1_000_000, limitMs, scans: 0, scanMs: 0, broken: false };
  const lastData = new Map<number, { address: string; at: number }>();
  const lines: Line[] = [];
  const record = (level: string) => (event: string, fields?: Record<string, unknown>) =>
    lines.push({ level, event, fields });
  const log: Logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
  const idleOf = (fd: number) => state.time - lastData.get(fd)!.at;
  const sweep = createIdleSweep({
    log,
    idleLimitMs: () => state.limitMs,
    now: () => state.time,
    sockets: {
      idle(idleMs) {
        if (state.broken) throw new Error("no /proc");
        state.scans++;
        state.time += state.scanMs;
        return [...lastData].filter(([fd]) => idleOf(fd) >= idleMs)
          .map(([fd, { address }]): IdleConnection => ({ fd, address, idleMs: idleOf(fd) }));
      },
      shut(connection, idleMs) {
        if (!lastData.has(connection.fd) || idleOf(connection.fd) < idleMs) return false;
        lastData.delete(connection.fd);
        return true;
      },
    },
  });
  const open = (fd: number, address = "192.0.2.1") => lastData.set(fd, { address, at: state.time });
  const hear = (fd: number) => (lastData.get(fd)!.at = state.time);
  return { state, lastData, lines, sweep, open, hear };
}

Deno.test("createIdleSweep() closes connections silent past the limit and leaves the others", () => {
  const w = world();
  w.open(10);
  w.open(11);
  w.state.time += 30_000;
  w.open(12);
  w.hear(11);
  assert.equal(w.sweep.sweep(), 0, "nobody silent for a minute yet");
  w.state.time += 30_000;
  assert.equal(w.sweep.sweep(), 1);
  assert.deepEqual([...w.lastData.keys()], [11, 12]);
  assert.deepEqual(w.lines, [{
    level: "warn",
    event: "connection_idle_closed",
    fields: { address: "192.0.2.1", idleSeconds: 60 },
  }]);
  w.hear(12); // a client that speaks now and then is never closed
  w.state.time += 30_000;
  assert.equal(w.sweep.sweep(), 1, "11 has been silent for 60 s, 12 for 30 s");
  assert.deepEqual([...w.lastData.keys()], [12]);
});

Deno.test("createIdleSweep() logs ten lines per address, then one a minute, the rest at debug level", () => {
  const w = world();
  for (let fd = 0; fd < 15; fd++) w.open(fd, "192.0.2.1");
  w.open(100, "198.51.100.7");
  w.state.time += 60_000;
  assert.equal(w.sweep.sweep(), 16);
  const warned = w.lines.filter((line) => line.level === "warn");
  assert.equal(warned.filter((line) => line.fields?.address === "192.0.2.1").length, 10);
  assert.equal(warned.filter((line) => line.fields?.address === "198.51.100.7").length, 1);
  assert.equal(w.lines.filter((line) => line.level === "debug").length, 5);
  w.lines.length = 0;
  w.open(20, "192.0.2.1");
  w.state.time += 60_000;
  assert.equal(w.sweep.sweep(), 1);
  assert.deepEqual(w.lines, [{
    level: "warn",
    event: "connection_idle_closed",
    fields: { address: "192.0.2.1", idleSeconds: 60, suppressed: 5 },
  }], "the next line says how many were held back");
});

Deno.test("createIdleSweep() waits twenty times a scan's cost before the next scan", () => {
  const w = world();
  w.state.scanMs = 10;
  w.open(1);
  w.state.time += 60_000;
  assert.equal(w.sweep.sweep(), 1);
  w.state.time += 100;
  assert.equal(w.sweep.sweep(), 0);
  assert.equal(w.state.scans, 1, "within 200 ms of a 10 ms scan: no scan");
  w.state.time += 100;
  w.sweep.sweep();
  assert.equal(w.state.scans, 2);
});

Deno.test("createIdleSweep() follows a changed limit; 0 closes nothing", () => {
  const w = world(0);
  w.open(1);
  w.state.time += 600_000;
  assert.equal(w.sweep.sweep(), 0);
  assert.equal(w.state.scans, 0, "no limit: no scan either");
  w.state.limitMs = 4 * 500;
  assert.equal(w.sweep.sweep(), 1);
});

Deno.test("createIdleSweep() says once that connections cannot be listed, then stops trying", () => {
  const w = world();
  w.state.broken = true;
  w.open(1);
  w.state.time += 60_000;
  assert.equal(w.sweep.sweep(), 0);
  assert.equal(w.sweep.sweep(), 0);
  assert.deepEqual(w.lines, [{
    level: "warn",
    event: "idle_sweep_failed",
    fields: { error: "Error: no /proc" },
  }]);
});
