// Tests of the session table: sessions by peer and by account, presence edges and idle checks.
// Sessions are plain objects; no socket is involved.

import assert from "node:assert/strict";
import { type Session, SessionTable } from "./sessions.ts";

function session(id: string, login: string, fields: Partial<Session> = {}): Session {
  return {
    id,
    peer: new TextEncoder().encode(id),
    account: login.toLowerCase(),
    login,
    since: 0,
    client: "test",
    host: "test-host",
    lastSeen: 0,
    ...fields,
  };
}

Deno.test("sessions.add() tells whether the session is its account's first", () => {
  const table = new SessionTable();
  assert.equal(table.add(session("p1", "Alice")), true);
  assert.equal(table.add(session("p2", "Alice")), false);
  assert.equal(table.add(session("p3", "Bob")), true);
  assert.equal(table.sessionCount, 3);
  assert.equal(table.accountCount, 2);
});

Deno.test("sessions.remove() tells whether the session was its account's last", async (t) => {
  const table = new SessionTable();
  const a1 = session("p1", "Alice");
  const a2 = session("p2", "Alice");
  table.add(a1);
  table.add(a2);
  await t.step("one of two", () => {
    assert.deepEqual(table.remove("p1"), { session: a1, last: false });
    assert.deepEqual(table.of("alice"), [a2]);
    assert.equal(table.get("p1"), undefined);
  });
  await t.step("the last", () => {
    assert.deepEqual(table.remove("p2"), { session: a2, last: true });
    assert.deepEqual(table.of("alice"), []);
    assert.equal(table.accountCount, 0);
    assert.equal(table.sessionCount, 0);
  });
  await t.step("an unknown peer", () => {
    assert.equal(table.remove("p1"), undefined);
  });
  await t.step("an account can come back after its last session left", () => {
    assert.equal(table.add(session("p4", "Alice")), true);
  });
});

Deno.test("sessions.of() and get() find sessions by account key and by peer", () => {
  const table = new SessionTable();
  const a1 = session("p1", "Alice");
  const a2 = session("p2", "Alice");
  const b = session("p3", "Bob");
  [a1, a2, b].forEach((s) => table.add(s));
  assert.deepEqual(table.of("alice"), [a1, a2]);
  assert.deepEqual(table.of("bob"), [b]);
  assert.deepEqual(table.of("carol"), []);
  assert.equal(table.get("p2"), a2);
  assert.equal(table.get("nope"), undefined);
  assert.deepEqual([...table.all()], [a1, a2, b]);
});

Deno.test("sessions.online() lists accounts sorted by login with their first session's time", () => {
  const table = new SessionTable();
  table.add(session("p1", "carol", { since: 30 }));
  table.add(session("p2", "Alice", { since: 10 }));
  table.add(session("p3", "bob", { since: 20 }));
  table.add(session("p4", "Alice", { since: 40 }));
  assert.deepEqual(table.online(), [
    { login: "Alice", since: 10, sessions: 2 },
    { login: "bob", since: 20, sessions: 1 },
    { login: "carol", since: 30, sessions: 1 },
  ]);
  table.remove("p2");
  assert.deepEqual(table.online()[0], { login: "Alice", since: 40, sessions: 1 });
});

Deno.test("sessions.idleSince() returns sessions last seen before the cutoff", async (t) => {
  const table = new SessionTable();
  const old = session("p1", "Alice", { lastSeen: 100 });
  const edge = session("p2", "Bob", { lastSeen: 200 });
  const fresh = session("p3", "Carol", { lastSeen: 300 });
  [old, edge, fresh].forEach((s) => table.add(s));
  await t.step("strictly older than the cutoff", () => {
    assert.deepEqual(table.idleSince(200), [old]);
  });
  await t.step("none", () => {
    assert.deepEqual(table.idleSince(100), []);
  });
  await t.step("a session seen again is no longer idle", () => {
    old.lastSeen = 250;
    assert.deepEqual(table.idleSince(250), [edge]);
  });
});
