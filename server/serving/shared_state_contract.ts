// The shared-state contract: what every SharedState implementation must do, as one test suite.
// Run by each implementation's test file with a factory: runSharedStateContract("local", make).

import assert from "node:assert/strict";
import type { Session } from "./sessions.ts";
import type { SharedState } from "./shared_state.ts";

const T0 = 1_700_000_000_000;

function session(id: string, login: string, lastSeen = T0): Session {
  return {
    id,
    peer: new TextEncoder().encode(id),
    account: login.toLowerCase(),
    login,
    since: T0,
    lastSeen,
    client: "test",
    host: "test-host",
  };
}

/**
 * Registers the contract's tests for one implementation, named `<name>: …`. `make` gives each test
 * a fresh, empty state with the flood limit `command` and the connection limit `connect`, and a
 * `close` run when the test ends.
 */
export function runSharedStateContract(
  name: string,
  make: (
    limits: { command: { burst: number; perSecond: number }; connect: typeof NO_LIMIT },
  ) => Promise<{ state: SharedState; close(): Promise<void> }>,
): void {
  const NO_LIMIT_OPTIONS = { command: NO_LIMIT, connect: NO_LIMIT };
  async function withState(
    fn: (state: SharedState) => void | Promise<void>,
    limits = NO_LIMIT_OPTIONS,
  ): Promise<void> {
    const { state, close } = await make(limits);
    try {
      await fn(state);
    } finally {
      await close();
    }
  }

  Deno.test(`${name}: shared sessions tell presence: an account's first and last session`, async () => {
    await withState(({ sessions }) => {
      assert.equal(sessions.add(session("p1", "Alice")), true, "alice comes online");
      assert.equal(sessions.add(session("p2", "Alice")), false);
      assert.equal(sessions.add(session("p3", "Bob", T0 - 60_000)), true);
      assert.deepEqual(sessions.of("alice").map((s) => s.id), ["p1", "p2"]);
      assert.equal(sessions.get("p3")?.login, "Bob");
      assert.deepEqual(
        sessions.online().map((u) => [u.login, u.sessions]),
        [["Alice", 2], ["Bob", 1]],
      );
      assert.deepEqual(sessions.idleSince(T0 - 1).map((s) => s.id), ["p3"]);
      assert.equal(sessions.remove("p1")?.last, false);
      assert.equal(sessions.remove("p2")?.last, true, "alice goes offline");
      assert.equal(sessions.remove("p2"), undefined);
      assert.equal(sessions.accountCount, 1);
      assert.equal(sessions.sessionCount, 1);
    });
  });

  Deno.test(`${name}: shared groups keep members in join order and hand ownership on`, async () => {
    await withState(({ groups }) => {
      const ops = groups.create("Ops", { key: "alice", login: "Alice" }, T0);
      groups.addMember(ops, "bob", "Bob");
      groups.addMember(ops, "carol", "Carol");
      assert.equal(groups.get("ops"), ops, "names are found case-insensitively");
      assert.deepEqual(groups.groupsOf("bob").map((g) => g.name), ["Ops"]);
      assert.deepEqual(groups.removeMember(ops, "alice"), {
        deleted: false,
        newOwner: { key: "bob", login: "Bob" },
      });
      groups.removeMember(ops, "bob");
      assert.deepEqual(groups.removeMember(ops, "carol"), { deleted: true });
      assert.equal(groups.get("ops"), undefined);
      assert.equal(groups.size, 0);
    });
  });

  Deno.test(`${name}: shared duplicate ids answer a re-send until cleared`, async () => {
    await withState(({ duplicates }) => {
      duplicates.remember("alice", 0, "c1", { id: 7, ts: T0 });
      assert.deepEqual(duplicates.get("alice", 0, "c1"), { id: 7, ts: T0 });
      assert.equal(duplicates.get("bob", 0, "c1"), undefined, "per account");
      assert.equal(duplicates.get("alice", 1, "c1"), undefined, "per send of the command");
      duplicates.clear();
      assert.equal(duplicates.get("alice", 0, "c1"), undefined);
    });
  });

  Deno.test(`${name}: the shared login throttle waits after the free failures`, async () => {
    await withState(({ loginThrottle }) => {
      for (let i = 0; i < 3; i++) loginThrottle.fail("alice", T0);
      assert.equal(loginThrottle.waitFor("alice", T0), 0, "three failures are free");
      loginThrottle.fail("alice", T0);
      assert.ok(loginThrottle.waitFor("alice", T0) > 0);
      assert.equal(loginThrottle.waitFor("bob", T0), 0, "per key");
      loginThrottle.succeed("alice");
      assert.equal(loginThrottle.waitFor("alice", T0), 0);
    });
  });

  Deno.test(`${name}: the shared address throttle gives an address 10 free failures, apart from logins`, async () => {
    await withState(({ addressThrottle, loginThrottle }) => {
      for (let i = 0; i < 10; i++) addressThrottle.fail("addr:10.0.0.1", T0);
      assert.equal(addressThrottle.waitFor("addr:10.0.0.1", T0), 0, "ten failures are free");
      addressThrottle.fail("addr:10.0.0.1", T0);
      assert.ok(addressThrottle.waitFor("addr:10.0.0.1", T0) > 0);
      assert.equal(addressThrottle.waitFor("addr:10.0.0.2", T0), 0, "per address");
      assert.equal(loginThrottle.waitFor("addr:10.0.0.1", T0), 0, "a throttle of its own");
    });
  });

  Deno.test(`${name}: the shared registration limit starts unlimited; a reload sets it`, async () => {
    await withState(({ registrationLimit }) => {
      for (let i = 0; i < 20; i++) assert.equal(registrationLimit.take("addr:10.0.0.1", T0), 0);
      Object.assign(registrationLimit.limit, { burst: 2, perSecond: 2 / 60 }); // a reload
      assert.equal(registrationLimit.take("addr:10.0.0.3", T0), 0);
      assert.equal(registrationLimit.take("addr:10.0.0.3", T0), 0);
      assert.ok(registrationLimit.take("addr:10.0.0.3", T0) > 0, "the burst is spent");
    });
  });

  Deno.test(`${name}: the shared flood limit allows its burst, then waits; a reload applies`, async () => {
    const limits = { command: { burst: 2, perSecond: 1 }, connect: NO_LIMIT };
    await withState(({ commandLimit }) => {
      assert.equal(commandLimit.take("alice", T0), 0);
      assert.equal(commandLimit.take("alice", T0), 0);
      assert.ok(commandLimit.take("alice", T0) > 0, "the burst is spent");
      assert.equal(commandLimit.take("bob", T0), 0, "per account");
      Object.assign(commandLimit.limit, { perSecond: 0 }); // a reload that lifts the limit
      assert.equal(commandLimit.take("alice", T0), 0);
    }, limits);
  });
}

/** A limit that does not limit (RateLimiter: perSecond 0). */
export const NO_LIMIT = { burst: 1, perSecond: 0 };
