// Tests of the connection sweep over a simulated set of connections and a test clock: what it closes
// (silent, or never logged in), what it leaves, how it logs, paces its scans and copes with failure.

import assert from "node:assert/strict";
import type { Logger } from "../log.ts";
import { type ChatConnection, createIdleSweep } from "./idle_sweep.ts";

interface Line {
  level: string;
  event: string;
  fields?: Record<string, unknown>;
}

/**
 * Connections by descriptor with their peer and the time data last arrived, the descriptors with a
 * logged-in session, a clock and a recording log. The login deadline is off unless given.
 */
function world(limitMs = 60_000, deadlineMs = 0) {
  const state = { time: 1_000_000, limitMs, deadlineMs, scans: 0, scanMs: 0, broken: false };
  const open = new Map<number, { address: string; peer: string; at: number }>();
  const loggedIn = new Set<number>();
  const lines: Line[] = [];
  const record = (level: string) => (event: string, fields?: Record<string, unknown>) =>
    lines.push({ level, event, fields });
  const log: Logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
  let ports = 40_000;
  const sweep = createIdleSweep({
    log,
    idleLimitMs: () => state.limitMs,
    loginDeadlineMs: () => state.deadlineMs,
    loggedIn: (fd) => loggedIn.has(fd),
    now: () => state.time,
    sockets: {
      list() {
        if (state.broken) throw new Error("no /proc");
        state.scans++;
        state.time += state.scanMs;
        return [...open].map(([fd, c]): ChatConnection => ({
          fd,
          address: c.address,
          peer: c.peer,
          idleMs: state.time - c.at,
        }));
      },
      shut(connection) {
        if (open.get(connection.fd)?.peer !== connection.peer) return false;
        open.delete(connection.fd);
        loggedIn.delete(connection.fd);
        return true;
      },
    },
  });
  return {
    state,
    lastData: open,
    loggedIn,
    lines,
    sweep,
    open: (fd: number, address = "192.0.2.1") =>
      open.set(fd, { address, peer: `${address}:${ports++}`, at: state.time }),
    hear: (fd: number) => (open.get(fd)!.at = state.time),
  };
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

Deno.test("createIdleSweep() closes a connection not logged in by the deadline, however much it sends", () => {
  const w = world(60_000, 20_000);
  w.open(10); // sends garbage forever, never logs in
  w.open(11); // logs in at once
  w.loggedIn.add(11);
  assert.equal(w.sweep.sweep(), 0, "first seen now");
  for (let i = 0; i < 3; i++) {
    w.state.time += 5000;
    w.hear(10);
    w.hear(11);
    assert.equal(w.sweep.sweep(), 0, `${(i + 1) * 5} s: within the deadline`);
  }
  w.state.time += 5000;
  w.hear(10);
  assert.equal(w.sweep.sweep(), 1);
  assert.deepEqual([...w.lastData.keys()], [11], "the logged-in connection stays");
  assert.deepEqual(w.lines, [{
    level: "warn",
    event: "connection_login_deadline",
    fields: { address: "192.0.2.1", seconds: 20 },
  }]);
});

Deno.test("createIdleSweep() starts a connection's deadline again when its session ends", () => {
  const w = world(60_000, 20_000);
  w.open(10);
  w.loggedIn.add(10);
  w.state.time += 600_000;
  w.hear(10);
  assert.equal(w.sweep.sweep(), 0, "logged in for ten minutes");
  w.loggedIn.delete(10); // logout, kick
  assert.equal(w.sweep.sweep(), 0, "its deadline starts now");
  w.state.time += 15_000;
  w.hear(10);
  assert.equal(w.sweep.sweep(), 0);
  w.state.time += 5000;
  w.hear(10);
  assert.equal(w.sweep.sweep(), 1);
});

Deno.test("createIdleSweep() gives a descriptor reused by a new connection a deadline of its own", () => {
  const w = world(60_000, 20_000);
  w.open(10);
  assert.equal(w.sweep.sweep(), 0);
  w.state.time += 15_000;
  w.lastData.delete(10); // closed, and its number reused by the next connection
  w.open(10);
  assert.equal(w.sweep.sweep(), 0);
  w.state.time += 10_000;
  w.hear(10);
  assert.equal(w.sweep.sweep(), 0, "25 s for the number, 10 s for this connection");
  w.state.time += 10_000;
  w.hear(10);
  assert.equal(w.sweep.sweep(), 1);
});

Deno.test("createIdleSweep() follows a changed deadline; 0 closes nothing", () => {
  const w = world(0, 0);
  w.open(1);
  w.state.time += 600_000;
  assert.equal(w.sweep.sweep(), 0);
  assert.equal(w.state.scans, 0, "no limit: no scan either");
  w.state.deadlineMs = 1000;
  w.hear(1);
  assert.equal(w.sweep.sweep(), 0, "first seen without a session now");
  w.state.time += 1000;
  assert.equal(w.sweep.sweep(), 1);
});
