// Tests of the chat core's fan-out, group rules, history permissions and deliver hooks.
// Real session and group tables, outbox and store (in a temporary directory); no sockets.

import assert from "node:assert/strict";
import {
  type GroupEvent,
  MAX_TEXT_LENGTH,
  type MessageEvent,
  nameKey,
  type ServerEvent,
} from "../../protocol/mod.ts";
import type { Caller, DeliverHook, OutgoingMessage } from "../../protocol/plugin.ts";
import { type ChatCore, createChatCore } from "./chat.ts";
import { encodeMessage, toEvent } from "./message_event.ts";
import { ChatError } from "../errors.ts";
import { GroupTable } from "./groups.ts";
import { DeletedLoginTable } from "./deleted_logins.ts";
import { LoginThrottle } from "./throttle.ts";
import { RecentSends } from "./recent_sends.ts";
import { DEDUP_WINDOW } from "./shared_state.ts";
import { createLogger } from "../log.ts";
import { Outbox } from "./outbox.ts";
import { hashPassword, tokenHash } from "./passwords.ts";
import { type Session, SessionTable } from "./sessions.ts";
import { openSqliteStore } from "./store/sqlite.ts";
import type { Store, StoredMessage } from "./store/store.ts";

const T0 = 1_700_000_000_000;

/** A logged-in session and the caller it acts as. */
interface User {
  session: Session;
  caller: Caller;
}

/** A chat core over real state, with helpers to log people in and read what was queued. */
class World {
  readonly sessions = new SessionTable();
  readonly groups = new GroupTable();
  readonly outbox = new Outbox();
  readonly hooks: DeliverHook[] = [];
  readonly chat: ChatCore;
  time = T0;

  constructor(readonly store: Store, readonly maxGroups = 3) {
    this.chat = this.#core();
  }

  /** A second core over the same store, as after a restart; the first must not be used after. */
  restart(): World {
    return new World(this.store, this.maxGroups);
  }

  #core(): ChatCore {
    return createChatCore({
      store: this.store,
      sessions: this.sessions,
      groups: this.groups,
      duplicates: new RecentSends(DEDUP_WINDOW),
      outbox: this.outbox,
      hooks: this.hooks,
      log: createLogger("error", () => {}),
      now: () => this.time,
      throttle: new LoginThrottle(),
      maxGroupsPerUser: this.maxGroups,
      maxWaitingPerAccount: 3,
      deletedLogins: new DeletedLoginTable(this.store.deletedLogins()),
    });
  }

  /** Creates an account, as registration does. */
  register(login: string): void {
    this.store.createAccount({ key: nameKey(login), login, password: "-", created: this.time });
    this.store.commit();
  }

  /** Logs `login` in on session `id`, registering the account on first use. */
  login(login: string, id: string, catchup: StoredMessage[] = [], echo = false): User {
    if (!this.store.account(nameKey(login))) this.register(login);
    const session: Session = {
      id,
      peer: new TextEncoder().encode(id),
      account: nameKey(login),
      login: this.store.account(nameKey(login))!.login,
      since: this.time,
      client: "test",
      host: "test-host",
      lastSeen: this.time,
      ...(echo ? { echo: true } : {}),
    };
    const first = this.sessions.add(session);
    this.chat.sessionStarted(session, first, catchup);
    return { session, caller: { login: session.login, session: id } };
  }

  logout(user: User): void {
    const removed = this.sessions.remove(user.session.id)!;
    this.chat.sessionEnded(removed.session, removed.last);
  }

  /** Everything queued since the last drain, by session id, in order. */
  drain(): Map<string, ServerEvent[]> {
    const bySession = new Map<string, ServerEvent[]>();
    const decoder = new TextDecoder();
    this.outbox.drain((to, [version, body]) => {
      assert.equal(version, "chatz/1");
      const id = decoder.decode(to.peer);
      bySession.set(id, [...(bySession.get(id) ?? []), ...JSON.parse(body) as ServerEvent[]]);
    });
    return bySession;
  }

  /** Session ids that got something since the last drain, sorted. */
  drainRecipients(): string[] {
    return [...this.drain().keys()].sort();
  }
}

/** Runs `fn` over a fresh world in a temporary directory, removed afterwards. */
async function withWorld(
  fn: (world: World) => void | Promise<void>,
  maxGroups?: number,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chatz_chat_test_" });
  const store = openSqliteStore(dir);
  try {
    await fn(new World(store, maxGroups));
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `fn` throws a ChatError with `code`. */
function assertChatError(fn: () => unknown, code: ChatError["code"]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ChatError, `expected a ChatError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, /^Cannot /);
    return true;
  });
}

function messages(events: ServerEvent[] | undefined): MessageEvent[] {
  return (events ?? []).filter((e): e is MessageEvent => e.type === "message");
}

function groupEvents(events: ServerEvent[] | undefined): GroupEvent[] {
  return (events ?? []).filter((e): e is GroupEvent => e.type === "group");
}

Deno.test("chat.sendPublic() reaches every session but the sender's own", async () => {
  await withWorld((world) => {
    const a1 = world.login("alice", "a1");
    world.login("alice", "a2");
    world.login("bob", "b1");
    world.drain();

    world.time = T0 + 5;
    const deliveries = world.chat.stats.deliveries;
    const sent = world.chat.sendPublic(a1.caller, "hello all");
    assert.deepEqual(sent, { id: 1, ts: T0 + 5 });

    const out = world.drain();
    assert.deepEqual([...out.keys()].sort(), ["a2", "b1"]);
    const expected: MessageEvent = {
      type: "message",
      id: 1,
      ts: T0 + 5,
      scope: "public",
      from: "alice",
      text: "hello all",
    };
    assert.deepEqual(out.get("a2"), [expected]);
    assert.deepEqual(out.get("b1"), [expected]);
    assert.equal(world.chat.stats.messages, 1);
    assert.equal(world.chat.stats.deliveries - deliveries, 2);
    assert.equal(world.store.history("p", Number.MAX_SAFE_INTEGER, 10)[0].text, "hello all");
  });
});

Deno.test("chat sends a session that asked for echo its own messages, once", async () => {
  await withWorld((world) => {
    const alice = world.login("alice", "a1", [], true);
    const bob = world.login("bob", "b1");
    world.chat.createGroup(alice.caller, "ops");
    world.chat.joinGroup(bob.caller, "ops");
    world.drain();
    world.chat.sendPublic(alice.caller, "public");
    world.chat.sendDirect(alice.caller, "bob", "direct");
    world.chat.sendGroup(alice.caller, "ops", "group");
    world.chat.sendPublic(bob.caller, "from bob");
    const got = world.drain();
    assert.deepEqual(messages(got.get("a1")).map((m) => m.text), [
      "public",
      "direct",
      "group",
      "from bob",
    ]);
    assert.deepEqual(messages(got.get("b1")).map((m) => m.text), ["public", "direct", "group"]);
  });
});

Deno.test("chat.sendPublic() marks actions", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    world.login("bob", "b1");
    world.drain();
    world.chat.sendPublic(a.caller, "waves", { action: true });
    assert.equal(messages(world.drain().get("b1"))[0].action, true);
    world.chat.sendPublic(a.caller, "talks");
    assert.equal("action" in messages(world.drain().get("b1"))[0], false);
  });
});

Deno.test("chat.sendDirect() reaches the recipient's sessions and the sender's other sessions", async () => {
  await withWorld((world) => {
    const a1 = world.login("alice", "a1");
    world.login("alice", "a2");
    world.login("Bob", "b1");
    world.login("Bob", "b2");
    world.login("carol", "c1");
    world.drain();

    const sent = world.chat.sendDirect(a1.caller, "BOB", "psst");
    assert.equal(sent.queued, undefined);
    const out = world.drain();
    assert.deepEqual([...out.keys()].sort(), ["a2", "b1", "b2"]);
    const [event] = messages(out.get("b1"));
    assert.deepEqual(event, {
      type: "message",
      id: sent.id,
      ts: T0,
      scope: "direct",
      from: "alice",
      to: "Bob", // the account's spelling, not the sender's
      text: "psst",
    });
    assert.deepEqual(out.get("a2"), [event]);
    assert.deepEqual(world.store.takeUndelivered("bob"), [], "nothing kept for an online user");
  });
});

Deno.test("chat.sendDirect() to oneself reaches one's other sessions only", async () => {
  await withWorld((world) => {
    const a1 = world.login("alice", "a1");
    world.login("alice", "a2");
    world.drain();
    const sent = world.chat.sendDirect(a1.caller, "alice", "note to self");
    assert.equal(sent.queued, undefined);
    const out = world.drain();
    assert.deepEqual([...out.keys()], ["a2"]);
    assert.equal(out.get("a2")?.length, 1, "delivered once, not once per side");
  });
});

Deno.test("chat.sendDirect() keeps a message for an offline user until they log in", async () => {
  await withWorld((world) => {
    const a1 = world.login("alice", "a1");
    world.login("alice", "a2");
    world.register("Bob");
    world.drain();

    const first = world.chat.sendDirect(a1.caller, "bob", "one");
    const second = world.chat.sendDirect(a1.caller, "bob", "two", { action: true });
    assert.equal(first.queued, true);
    assert.equal(second.queued, true);
    assert.deepEqual(world.drainRecipients(), ["a2"]);
    world.store.commit();

    world.time = T0 + 1000;
    world.login("Bob", "b1");
    const delivered = messages(world.drain().get("b1"));
    assert.deepEqual(delivered, [
      {
        type: "message",
        id: first.id,
        ts: T0,
        scope: "direct",
        from: "alice",
        to: "Bob",
        text: "one",
        delayed: true,
      },
      {
        type: "message",
        id: second.id,
        ts: T0,
        scope: "direct",
        from: "alice",
        to: "Bob",
        text: "two",
        action: true,
        delayed: true,
      },
    ]);

    world.login("Bob", "b2");
    assert.deepEqual(messages(world.drain().get("b2")), [], "delivered once, to the first session");
  });
});

Deno.test("chat.sendDirect() refuses mailbox_full past the offline limit, and accepts again after delivery", async () => {
  await withWorld((world) => {
    const alice = world.login("alice", "a1");
    world.register("Bob");
    for (const text of ["one", "two", "three"]) world.chat.sendDirect(alice.caller, "bob", text);
    world.store.commit();
    const stored = world.store.messageCount();
    assert.throws(
      () => world.chat.sendDirect(alice.caller, "bob", "four"),
      {
        name: "ChatError",
        code: "mailbox_full",
        message: 'Cannot send to "Bob": 3 messages already wait for them',
      },
    );
    assert.equal(world.store.messageCount(), stored, "the refused message is not stored");
    // Group and public sends queue nothing per account: they are not refused.
    world.chat.sendPublic(alice.caller, "public");

    const bob = world.login("Bob", "b1");
    assert.deepEqual(messages(world.drain().get("b1")).map((m) => m.text), ["one", "two", "three"]);
    world.store.commit();
    world.logout(bob);
    // Delivered messages no longer count: three more may wait again, and no fourth.
    for (const text of ["five", "six", "seven"]) {
      assert.equal(world.chat.sendDirect(alice.caller, "bob", text).queued, true);
    }
    assertChatError(() => world.chat.sendDirect(alice.caller, "bob", "eight"), "mailbox_full");
  });
});

Deno.test("chat.sendDirect() to an unknown login is no_such_user and stores nothing", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    world.login("alice", "a2");
    world.drain();
    assertChatError(() => world.chat.sendDirect(a.caller, "nobody", "hi"), "no_such_user");
    assertChatError(() => world.chat.sendDirect(a.caller, "bad name!", "hi"), "no_such_user");
    assert.equal(world.store.messageCount(), 0);
    assert.deepEqual(world.drainRecipients(), []);
    assert.equal(world.chat.stats.messages, 0);
  });
});

Deno.test("chat services refuse empty and oversized texts", async (t) => {
  await withWorld(async (world) => {
    const a = world.login("alice", "a1");
    world.login("bob", "b1");
    world.drain();
    await t.step("empty is bad_arguments", () => {
      assertChatError(() => world.chat.sendPublic(a.caller, ""), "bad_arguments");
    });
    await t.step(`over ${MAX_TEXT_LENGTH} characters is too_large`, () => {
      const long = "x".repeat(MAX_TEXT_LENGTH + 1);
      assertChatError(() => world.chat.sendDirect(a.caller, "bob", long), "too_large");
    });
    await t.step("exactly the limit is sent", () => {
      world.chat.sendPublic(a.caller, "x".repeat(MAX_TEXT_LENGTH));
      assert.equal(world.store.messageCount(), 1);
    });
    assert.deepEqual(world.drainRecipients(), ["b1"]);
  });
});

Deno.test("chat.sendGroup() is for members only and reaches members only", async (t) => {
  await withWorld(async (world) => {
    const a1 = world.login("alice", "a1");
    world.login("alice", "a2");
    const b = world.login("bob", "b1");
    const c = world.login("carol", "c1");
    world.chat.createGroup(a1.caller, "Ops");
    world.chat.joinGroup(b.caller, "ops");
    world.drain();

    await t.step("a member's message reaches the other members' sessions", () => {
      const sent = world.chat.sendGroup(b.caller, "OPS", "deploy?");
      const out = world.drain();
      assert.deepEqual([...out.keys()].sort(), ["a1", "a2"]);
      assert.deepEqual(out.get("a1"), [{
        type: "message",
        id: sent.id,
        ts: T0,
        scope: "group",
        from: "bob",
        group: "Ops",
        text: "deploy?",
      }]);
    });
    await t.step("the sender's other sessions get it too", () => {
      world.chat.sendGroup(a1.caller, "ops", "yes");
      assert.deepEqual(world.drainRecipients(), ["a2", "b1"]);
    });
    await t.step("a non-member is not_member", () => {
      assertChatError(() => world.chat.sendGroup(c.caller, "ops", "let me in"), "not_member");
      assert.deepEqual(world.drainRecipients(), []);
    });
    await t.step("an unknown group is no_such_group", () => {
      assertChatError(() => world.chat.sendGroup(a1.caller, "dev", "hi"), "no_such_group");
    });
    assert.equal(world.store.messageCount(), 2);
  });
});

Deno.test("chat.createGroup() checks the name and tells everyone but the creating session", async (t) => {
  await withWorld(async (world) => {
    const a = world.login("alice", "a1");
    world.login("alice", "a2");
    world.login("bob", "b1");
    world.drain();

    await t.step("a new group", () => {
      world.time = T0 + 7;
      const info = world.chat.createGroup(a.caller, "Ops");
      assert.deepEqual(info, { name: "Ops", owner: "alice", members: 1, created: T0 + 7 });
      const out = world.drain();
      assert.deepEqual([...out.keys()].sort(), ["a2", "b1"]);
      for (const session of ["a2", "b1"]) {
        assert.deepEqual(out.get(session), [
          { type: "group", group: "Ops", action: "create", login: "alice", ts: T0 + 7 },
        ]);
      }
      assert.deepEqual(world.chat.groupsOf("ALICE"), ["Ops"]);
      assert.deepEqual(world.chat.members("ops"), ["alice"]);
    });
    await t.step("a taken name, in any case, is group_exists", () => {
      assertChatError(() => world.chat.createGroup(a.caller, "OPS"), "group_exists");
    });
    await t.step("a bad name is invalid_name", () => {
      assertChatError(() => world.chat.createGroup(a.caller, "#ops"), "invalid_name");
      assertChatError(() => world.chat.createGroup(a.caller, ""), "invalid_name");
    });
    await t.step("the group is stored", () => {
      world.store.commit();
      assert.deepEqual(world.store.loadGroups(), [{
        key: "ops",
        name: "Ops",
        ownerKey: "alice",
        created: T0 + 7,
        members: [{ account: "alice", login: "alice" }],
      }]);
    });
  });
});

Deno.test("chat.joinGroup() announces the member and emits group_join, whose handler shows history", async (t) => {
  await withWorld(async (world) => {
    const joins: unknown[] = [];
    world.chat.events.on("test", "group_join", (event, chat) => {
      joins.push(event);
      chat.showHistory({ scope: "group", group: event.group }, { limit: 20 });
    });
    const a = world.login("alice", "a1");
    const b1 = world.login("bob", "b1");
    world.login("bob", "b2");
    world.login("carol", "c1");
    world.chat.createGroup(a.caller, "ops");
    for (let i = 1; i <= 25; i++) world.chat.sendGroup(a.caller, "ops", `m${i}`);
    world.chat.sendPublic(a.caller, "public chatter");
    world.drain();

    world.time = T0 + 9;
    const info = world.chat.joinGroup(b1.caller, "OPS");
    assert.deepEqual(info, { name: "ops", owner: "alice", members: 2, created: T0 });
    const out = world.drain();

    await t.step("members and the joiner's other sessions see the join", () => {
      const join = { type: "group", group: "ops", action: "join", login: "bob", ts: T0 + 9 };
      assert.deepEqual(out.get("a1"), [join]);
      assert.deepEqual(out.get("b2"), [join]);
      assert.equal(out.has("c1"), false);
    });
    await t.step("group_join names the group, the login and the session", () => {
      assert.deepEqual(joins, [{ group: "ops", login: "bob", session: "b1" }]);
    });
    await t.step("the joining session gets the last twenty group messages, marked history", () => {
      const history = out.get("b1") ?? [];
      assert.equal(groupEvents(history).length, 0, "no join event for the joiner's own session");
      const replayed = messages(history);
      assert.equal(replayed.length, history.length);
      assert.deepEqual(
        replayed.map((m) => m.text),
        Array.from({ length: 20 }, (_, i) => `m${i + 6}`),
      );
      assert.ok(replayed.every((m) => m.history === true && m.group === "ops"));
    });
    await t.step("joining again is already_member", () => {
      assertChatError(() => world.chat.joinGroup(b1.caller, "ops"), "already_member");
    });
    await t.step("an unknown group is no_such_group", () => {
      assertChatError(() => world.chat.joinGroup(b1.caller, "dev"), "no_such_group");
    });
    await t.step("the new member now gets group messages", () => {
      world.chat.sendGroup(a.caller, "ops", "welcome");
      assert.deepEqual(world.drainRecipients(), ["b1", "b2"]);
    });
  });
});

Deno.test("chat.leaveGroup() removes a member and tells the others", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    const b1 = world.login("bob", "b1");
    world.login("bob", "b2");
    world.chat.createGroup(a.caller, "ops");
    world.chat.joinGroup(b1.caller, "ops");
    world.drain();

    world.chat.leaveGroup(b1.caller, "ops");
    const out = world.drain();
    const leave = { type: "group", group: "ops", action: "leave", login: "bob", ts: T0 };
    assert.deepEqual(out.get("a1"), [leave]);
    assert.deepEqual(out.get("b2"), [leave]);
    assert.equal(out.has("b1"), false);
    assert.deepEqual(world.chat.members("ops"), ["alice"]);
    assert.deepEqual(world.chat.groupsOf("bob"), []);
    assertChatError(() => world.chat.leaveGroup(b1.caller, "ops"), "not_member");
    assertChatError(() => world.chat.leaveGroup(b1.caller, "nope"), "no_such_group");
    world.store.commit();
    assert.deepEqual(world.store.loadGroups()[0].members, [{ account: "alice", login: "alice" }]);
  });
});

Deno.test("chat.leaveGroup() by the owner hands the group to the longest-standing member", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    const b = world.login("bob", "b1");
    const c = world.login("carol", "c1");
    world.chat.createGroup(a.caller, "ops");
    world.chat.joinGroup(c.caller, "ops");
    world.chat.joinGroup(b.caller, "ops");
    world.drain();

    world.chat.leaveGroup(a.caller, "ops");
    const out = world.drain();
    const owner = { type: "group", group: "ops", action: "owner", login: "carol", ts: T0 };
    assert.deepEqual(groupEvents(out.get("b1")).map((e) => e.action), ["leave", "owner"]);
    assert.deepEqual(groupEvents(out.get("b1"))[1], owner);
    assert.deepEqual(groupEvents(out.get("c1"))[1], owner);
    assert.equal(out.has("a1"), false);
    assert.equal(world.chat.group("ops")?.owner, "carol");

    world.store.commit();
    assert.equal(world.store.loadGroups()[0].ownerKey, "carol");
    // The new owner has the owner's powers.
    world.chat.kickFromGroup(c.caller, "ops", "bob");
    assert.deepEqual(world.chat.members("ops"), ["carol"]);
  });
});

Deno.test("chat.leaveGroup() by the last member deletes the group", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    world.chat.createGroup(a.caller, "ops");
    world.chat.leaveGroup(a.caller, "ops");
    assert.equal(world.chat.group("ops"), undefined);
    assert.deepEqual(world.chat.groups(), []);
    assertChatError(() => world.chat.members("ops"), "no_such_group");
    world.store.commit();
    assert.deepEqual(world.store.loadGroups(), []);
    // The name is free again.
    assert.equal(world.chat.createGroup(a.caller, "ops").members, 1);
  });
});

Deno.test("chat.kickFromGroup() is for the owner only", async (t) => {
  await withWorld(async (world) => {
    const a = world.login("alice", "a1");
    world.login("alice", "a2");
    const b = world.login("bob", "b1");
    const c = world.login("carol", "c1");
    world.login("dave", "d1");
    world.chat.createGroup(a.caller, "ops");
    world.chat.joinGroup(b.caller, "ops");
    world.chat.joinGroup(c.caller, "ops");
    world.drain();

    await t.step("a member who is not the owner is forbidden", () => {
      assertChatError(() => world.chat.kickFromGroup(b.caller, "ops", "carol"), "forbidden");
      assert.deepEqual(world.chat.members("ops"), ["alice", "bob", "carol"]);
    });
    await t.step("the owner kicks a member, who is told along with the others", () => {
      world.chat.kickFromGroup(a.caller, "ops", "CAROL");
      const out = world.drain();
      const kick = {
        type: "group",
        group: "ops",
        action: "kick",
        login: "carol",
        by: "alice",
        ts: T0,
      };
      assert.deepEqual(out.get("c1"), [kick]);
      assert.deepEqual(out.get("b1"), [kick]);
      assert.deepEqual(out.get("a2"), [kick]);
      assert.equal(out.has("a1"), false);
      assert.equal(out.has("d1"), false);
      assert.deepEqual(world.chat.members("ops"), ["alice", "bob"]);
      assertChatError(() => world.chat.sendGroup(c.caller, "ops", "hey"), "not_member");
    });
    await t.step("kicking a non-member is not_member", () => {
      assertChatError(() => world.chat.kickFromGroup(a.caller, "ops", "dave"), "not_member");
    });
    await t.step("the owner kicking themself is forbidden", () => {
      assertChatError(() => world.chat.kickFromGroup(a.caller, "ops", "alice"), "forbidden");
    });
    await t.step("the kick is stored", () => {
      world.store.commit();
      assert.deepEqual(world.store.loadGroups()[0].members.map((m) => m.account), [
        "alice",
        "bob",
      ]);
    });
  });
});

Deno.test("chat.transferGroup() is for the owner only and hands over to a member", async (t) => {
  await withWorld(async (world) => {
    const a = world.login("alice", "a1");
    const b = world.login("Bob", "b1");
    const c = world.login("carol", "c1");
    world.chat.createGroup(a.caller, "ops");
    world.chat.joinGroup(b.caller, "ops");
    world.drain();

    await t.step("a non-owner is forbidden", () => {
      assertChatError(() => world.chat.transferGroup(b.caller, "ops", "Bob"), "forbidden");
      assertChatError(() => world.chat.transferGroup(c.caller, "ops", "carol"), "forbidden");
      assert.equal(world.chat.group("ops")?.owner, "alice");
    });
    await t.step("handing over to a non-member is not_member", () => {
      assertChatError(() => world.chat.transferGroup(a.caller, "ops", "carol"), "not_member");
    });
    await t.step("the owner hands over, and every member hears it", () => {
      world.chat.transferGroup(a.caller, "ops", "bob");
      const owner = {
        type: "group",
        group: "ops",
        action: "owner",
        login: "Bob",
        by: "alice",
        ts: T0,
      };
      const out = world.drain();
      assert.deepEqual(out.get("b1"), [owner]);
      assert.equal(out.has("a1"), false);
      assert.equal(out.has("c1"), false);
      assert.equal(world.chat.group("ops")?.owner, "Bob");
    });
    await t.step("the former owner has lost the owner's powers", () => {
      assertChatError(() => world.chat.kickFromGroup(a.caller, "ops", "bob"), "forbidden");
      world.chat.kickFromGroup(b.caller, "ops", "alice");
      assert.deepEqual(world.chat.members("ops"), ["Bob"]);
    });
    await t.step("the new owner is stored", () => {
      world.store.commit();
      assert.equal(world.store.loadGroups()[0].ownerKey, "bob");
    });
  });
});

Deno.test("createChatCore() loads groups, owners and members back from the store", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    const b = world.login("bob", "b1");
    const c = world.login("carol", "c1");
    world.chat.createGroup(a.caller, "Ops");
    world.chat.joinGroup(b.caller, "ops");
    world.chat.joinGroup(c.caller, "ops");
    world.chat.transferGroup(a.caller, "ops", "carol");
    world.store.commit();

    const after = world.restart();
    assert.deepEqual(after.chat.groups(), [
      { name: "Ops", owner: "carol", members: 3, created: T0 },
    ]);
    assert.deepEqual(after.chat.members("ops"), ["alice", "bob", "carol"]);
    // The owner leaving still hands over to the longest-standing member.
    const c2 = after.login("carol", "c2");
    after.chat.leaveGroup(c2.caller, "ops");
    assert.equal(after.chat.group("ops")?.owner, "alice");
  });
});

Deno.test("chat.history() shows a conversation only to those who may read it", async (t) => {
  await withWorld(async (world) => {
    const a = world.login("alice", "a1");
    const b = world.login("bob", "b1");
    const c = world.login("carol", "c1");
    world.chat.createGroup(a.caller, "ops");
    const ids: number[] = [];
    for (let i = 1; i <= 5; i++) ids.push(world.chat.sendPublic(a.caller, `p${i}`).id);
    world.chat.sendDirect(a.caller, "bob", "a→b");
    world.chat.sendDirect(b.caller, "alice", "b→a");
    world.chat.sendDirect(a.caller, "carol", "a→c");
    world.chat.sendGroup(a.caller, "ops", "g1");
    world.drain();
    const texts = (list: MessageEvent[]) => list.map((m) => m.text);

    await t.step("public history is for everyone, marked history, oldest first", () => {
      const page = world.chat.history(c.caller, { scope: "public" }, { limit: 3 });
      assert.deepEqual(texts(page), ["p3", "p4", "p5"]);
      assert.ok(page.every((m) => m.history === true && m.scope === "public"));
    });
    await t.step("paging with before", () => {
      const page = world.chat.history(c.caller, { scope: "public" }, { limit: 3, before: ids[2] });
      assert.deepEqual(texts(page), ["p1", "p2"]);
    });
    await t.step("direct history is the caller's conversation with that login only", () => {
      const withBob = world.chat.history(a.caller, { scope: "direct", with: "BOB" }, { limit: 10 });
      assert.deepEqual(texts(withBob), ["a→b", "b→a"]);
      const bobsView = world.chat.history(b.caller, { scope: "direct", with: "alice" }, {
        limit: 10,
      });
      assert.deepEqual(texts(bobsView), ["a→b", "b→a"]);
      const carolAndBob = world.chat.history(c.caller, { scope: "direct", with: "bob" }, {
        limit: 10,
      });
      assert.deepEqual(carolAndBob, []);
    });
    await t.step("direct history with an unknown login is no_such_user", () => {
      assertChatError(
        () => world.chat.history(a.caller, { scope: "direct", with: "nobody" }, { limit: 5 }),
        "no_such_user",
      );
    });
    await t.step("a member reads group history", () => {
      const page = world.chat.history(a.caller, { scope: "group", group: "OPS" }, { limit: 5 });
      assert.deepEqual(texts(page), ["g1"]);
      assert.equal(page[0].group, "ops");
    });
    await t.step("a non-member reading a group is not_member", () => {
      assertChatError(
        () => world.chat.history(b.caller, { scope: "group", group: "ops" }, { limit: 5 }),
        "not_member",
      );
    });
    await t.step("an unknown group is no_such_group", () => {
      assertChatError(
        () => world.chat.history(a.caller, { scope: "group", group: "dev" }, { limit: 5 }),
        "no_such_group",
      );
    });
    assert.deepEqual(world.drainRecipients(), [], "reading history queues nothing");
  });
});

Deno.test("chat deliver hooks see each message and can replace or drop it", async (t) => {
  await withWorld(async (world) => {
    const a = world.login("alice", "a1");
    world.login("bob", "b1");
    world.chat.createGroup(a.caller, "ops");
    world.drain();
    const seen: OutgoingMessage[] = [];
    world.hooks.push((message) => {
      seen.push(message);
      if (message.text.includes("spam")) return { drop: "no spam here" };
      if (message.text.includes("darn")) return { text: message.text.replaceAll("darn", "d**n") };
    });

    await t.step("a hook sees scope, sender, recipient and group", () => {
      world.chat.sendPublic(a.caller, "hi");
      world.chat.sendDirect(a.caller, "bob", "yo");
      world.chat.sendGroup(a.caller, "ops", "hey");
      assert.deepEqual(seen, [
        { scope: "public", from: "alice", text: "hi" },
        { scope: "direct", from: "alice", to: "bob", text: "yo" },
        { scope: "group", from: "alice", group: "ops", text: "hey" },
      ]);
      world.drain();
    });
    await t.step("a replaced text is what is stored and delivered", () => {
      world.chat.sendPublic(a.caller, "darn it");
      assert.equal(messages(world.drain().get("b1"))[0].text, "d**n it");
      const [last] = world.store.history("p", Number.MAX_SAFE_INTEGER, 1);
      assert.equal(last.text, "d**n it");
    });
    await t.step("a dropped message is blocked, not stored and not delivered", () => {
      const before = world.store.messageCount();
      assert.throws(
        () => world.chat.sendDirect(a.caller, "bob", "buy spam"),
        (error: unknown) =>
          error instanceof ChatError && error.code === "blocked" &&
          error.message === "Cannot send message: no spam here",
      );
      assert.equal(world.store.messageCount(), before);
      assert.deepEqual(world.drainRecipients(), []);
      assert.deepEqual(world.store.takeUndelivered("bob"), []);
    });
    await t.step("hooks run in order, each seeing the text the one before left", () => {
      world.hooks.push((message) => ({ text: `[${message.text}]` }));
      world.chat.sendPublic(a.caller, "darn");
      assert.equal(messages(world.drain().get("b1"))[0].text, "[d**n]");
    });
    await t.step("a hook that empties the text is bad_arguments", () => {
      world.hooks.push(() => ({ text: "" }));
      assertChatError(() => world.chat.sendPublic(a.caller, "hello"), "bad_arguments");
      assert.deepEqual(world.drainRecipients(), []);
    });
  });
});

Deno.test("chat presence: contacts see an account's first session arrive and its last leave", async (t) => {
  await withWorld(async (world) => {
    // alice's contacts: carol shares a group with her, dave a direct conversation; erin neither.
    const before = world.login("alice", "a0");
    const carol = world.login("carol", "c1");
    world.login("dave", "d1");
    world.login("erin", "e1");
    world.chat.createGroup(carol.caller, "ops");
    world.chat.joinGroup(before.caller, "ops");
    world.chat.sendDirect(before.caller, "dave", "hi");
    world.logout(before);
    world.drain();

    await t.step("the first session is announced to the contacts only", () => {
      world.time = T0 + 1;
      world.login("alice", "a1");
      const out = world.drain();
      assert.deepEqual([...out.keys()].sort(), ["c1", "d1"]);
      for (const to of ["c1", "d1"]) {
        assert.deepEqual(out.get(to), [
          { type: "presence", login: "alice", state: "online", ts: T0 + 1 },
        ]);
      }
    });
    const a2 = world.login("alice", "a2");
    await t.step("a second session is not announced", () => {
      assert.deepEqual(world.drainRecipients(), []);
    });
    await t.step("ending one of two sessions is not announced", () => {
      world.logout(a2);
      assert.deepEqual(world.drainRecipients(), []);
    });
    await t.step("ending the last session is announced to the contacts only", () => {
      world.time = T0 + 2;
      world.logout({
        session: world.sessions.get("a1")!,
        caller: { login: "alice", session: "a1" },
      });
      const out = world.drain();
      assert.deepEqual([...out.keys()].sort(), ["c1", "d1"]);
      assert.deepEqual(out.get("d1"), [
        { type: "presence", login: "alice", state: "offline", ts: T0 + 2 },
      ]);
    });
    await t.step("online() lists everyone, contacts or not", () => {
      assert.deepEqual(world.chat.online().map((u) => u.login), ["carol", "dave", "erin"]);
    });
  });
});

Deno.test("chat.notify() and broadcast() send notices", async () => {
  await withWorld((world) => {
    world.login("alice", "a1");
    world.login("alice", "a2");
    world.login("bob", "b1");
    world.drain();
    world.chat.notify("ALICE", "psst");
    const notice = { type: "notice", text: "psst", ts: T0 };
    const out = world.drain();
    assert.deepEqual([...out.keys()].sort(), ["a1", "a2"]);
    assert.deepEqual(out.get("a1"), [notice]);
    world.chat.broadcast("restarting");
    assert.deepEqual(world.drainRecipients(), ["a1", "a2", "b1"]);
  });
});

Deno.test("chat.account() gives the registered spelling of a login", async () => {
  await withWorld((world) => {
    world.register("Alice");
    assert.equal(world.chat.account("alice"), "Alice");
    assert.equal(world.chat.account("ALICE"), "Alice");
    assert.equal(world.chat.account("bob"), undefined);
  });
});

Deno.test("chat.changePassword() checks the current password and drops tokens", async (t) => {
  await withWorld(async (world) => {
    world.store.createAccount({
      key: "alice",
      login: "alice",
      password: await hashPassword("old"),
      created: T0,
    });
    world.store.saveToken("tok", "alice", T0, T0 + 1000);
    const a = world.login("alice", "a1");

    await t.step("a wrong current password is wrong_password", async () => {
      await assert.rejects(
        world.chat.changePassword(a.caller, "nope", "new"),
        (error: unknown) => error instanceof ChatError && error.code === "wrong_password",
      );
      assert.equal(world.store.tokenAccount("tok", T0), "alice");
    });
    await t.step("an empty new password is bad_password", async () => {
      await assert.rejects(
        world.chat.changePassword(a.caller, "old", ""),
        (error: unknown) => error instanceof ChatError && error.code === "bad_password",
      );
    });
    await t.step("the right one changes the hash and drops the tokens", async () => {
      const before = world.store.account("alice")?.password;
      const fresh = await world.chat.changePassword(a.caller, "old", "new");
      assert.notEqual(world.store.account("alice")?.password, before);
      assert.equal(world.store.tokenAccount("tok", T0), undefined);
      assert.equal(world.store.tokenAccount(tokenHash(fresh), T0), "alice", "the caller's new one");
      await assert.rejects(
        world.chat.changePassword(a.caller, "old", "newer"),
        (error: unknown) => error instanceof ChatError && error.code === "wrong_password",
      );
    });
  });
});

Deno.test("encodeMessage() writes exactly what JSON.stringify writes for the event", async (t) => {
  const base: StoredMessage = {
    id: 7,
    ts: 1700000000123,
    conv: "p",
    scope: "public",
    from: 'al"ice',
    text: "line\nwith \u2028 \\ and \ud83d\ude00 and \ud800 lone",
    action: false,
  };
  const variants: [string, StoredMessage, { history?: boolean; delayed?: boolean }][] = [
    ["public", base, {}],
    ["direct, delayed", { ...base, scope: "direct", to: "bob" }, { delayed: true }],
    ["group action, history", { ...base, scope: "group", group: "ops", action: true }, {
      history: true,
    }],
  ];
  for (const [name, message, marks] of variants) {
    await t.step(name, () => {
      assert.equal(encodeMessage(message, marks), JSON.stringify(toEvent(message, marks)));
    });
  }
});

Deno.test("a send re-sent with the same cid is stored and delivered once", async (t) => {
  await withWorld(async (world) => {
    const a = world.login("alice", "a1");
    world.login("bob", "b1");
    world.drain();
    await t.step("within one run of the server", () => {
      const first = world.chat.sendDirect({ ...a.caller, cid: "c1" }, "bob", "once");
      const again = world.chat.sendDirect({ ...a.caller, cid: "c1" }, "bob", "once");
      assert.deepEqual(again, first);
      assert.equal(world.drain().get("b1")?.length, 1);
      const other = world.chat.sendPublic({ ...a.caller, cid: "c2" }, "another");
      assert.notEqual(other.id, first.id);
    });
    await t.step("after a restart, from the store", () => {
      world.store.commit();
      const first = world.store.recentClientIds(10).find((r) => r.cid === "0:c1")!;
      const after = world.restart();
      after.login("alice", "a2");
      const again = after.chat.sendDirect(
        { login: "alice", session: "a2", cid: "c1" },
        "bob",
        "once",
      );
      assert.equal(again.id, first.id);
    });
  });
});

Deno.test("chat.sessionStarted() sends the catch-up once and skips its delayed copies", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    const b = world.login("bob", "b1");
    const seen = world.chat.sendPublic(a.caller, "seen live").id;
    world.logout(b);
    const missedPublic = world.chat.sendPublic(a.caller, "while away");
    const missedDirect = world.chat.sendDirect(a.caller, "bob", "kept for you");
    world.drain();
    const missed = world.chat.missedBy("bob", seen);
    assert.deepEqual(missed.map((m) => m.id), [missedPublic.id, missedDirect.id]);
    const back = world.login("bob", "b2", missed);
    const events = (world.drain().get(back.session.id) ?? []) as MessageEvent[];
    const messages = events.filter((e) => e.type === "message");
    assert.deepEqual(messages.map((m) => [m.id, m.catchup, m.delayed]), [
      [missedPublic.id, true, undefined],
      [missedDirect.id, true, undefined],
    ]);
  });
});

Deno.test("a lagging session gets nothing queued, then catches up from the store", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    const b = world.login("bob", "b1");
    world.drain();
    const first = world.chat.sendPublic(a.caller, "lost in a full queue");
    world.drain(); // the frame that carried it failed with EAGAIN
    world.chat.lagged(b.session, first.id);
    const second = world.chat.sendPublic(a.caller, "not queued while lagging");
    assert.equal(world.drain().get("b1"), undefined);
    assert.deepEqual(world.chat.retryLagging(world.time - 1), [], "not hopeless yet");
    const caught = (world.drain().get("b1") ?? []) as MessageEvent[];
    assert.deepEqual(caught.map((m) => [m.id, m.catchup]), [[first.id, true], [second.id, true]]);
    // The catch-up failed too: the episode goes on from where it started.
    world.chat.lagged(b.session, first.id);
    world.time += 60_000;
    assert.deepEqual(world.chat.retryLagging(world.time - 1000), [b.session], "lagging too long");
    // A catch-up that went out without a failure for a while ends the episode.
    b.session.lagging = { since: world.time, last: world.time, after: 0, active: false };
    world.time += 2000;
    world.chat.retryLagging(0);
    assert.equal(b.session.lagging, undefined);
  });
});

Deno.test("chat.createGroup() and joinGroup() refuse past the groups-per-user limit", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    const b = world.login("bob", "b1");
    for (const name of ["g1", "g2", "g3"]) world.chat.createGroup(a.caller, name);
    assertChatError(() => world.chat.createGroup(a.caller, "g4"), "limit_reached");
    world.chat.createGroup(b.caller, "bobs");
    assertChatError(() => world.chat.joinGroup(a.caller, "bobs"), "limit_reached");
  });
});

Deno.test("the groups-per-user limit of 1 is told in the singular", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    world.chat.createGroup(a.caller, "g1");
    assert.throws(
      () => world.chat.createGroup(a.caller, "g2"),
      /^ChatError: Cannot create group "g2": you are in 1 group, the most allowed$/,
    );
  }, 1);
});

Deno.test("a command that sends twice is deduplicated per send, also after a restart", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    const call = { ...a.caller, cid: "multi" };
    const one = world.chat.sendPublic(call, "first of two");
    const two = world.chat.sendPublic(call, "second of two");
    assert.notEqual(one.id, two.id);
    world.store.commit();
    const after = world.restart();
    after.login("alice", "a2");
    const again = { login: "alice", session: "a2", cid: "multi" };
    assert.deepEqual(
      [
        after.chat.sendPublic(again, "first of two").id,
        after.chat.sendPublic(again, "second of two").id,
      ],
      [one.id, two.id],
    );
  });
});

Deno.test("chat.commitFailed() forgets sends that were never stored", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    world.chat.sendPublic({ ...a.caller, cid: "x" }, "lost in a failed commit");
    world.store.rollback();
    world.chat.commitFailed();
    const again = world.chat.sendPublic({ ...a.caller, cid: "x" }, "lost in a failed commit");
    world.store.commit();
    const stored = world.store.history("p", Number.MAX_SAFE_INTEGER, 10);
    assert.deepEqual(stored.map((m) => m.id), [again.id], "stored once, under the id acknowledged");
  });
});

Deno.test(
  "chat.sessionStarted() marks the account's own sends in the catch-up with their cid only",
  async () => {
    await withWorld((world) => {
      const a = world.login("alice", "a1");
      const b = world.login("bob", "b1");
      const seen = world.chat.sendPublic(a.caller, "seen live").id;
      world.logout(b);
      const own = world.chat.sendPublic(
        { ...world.login("bob", "b2").caller, cid: "c9-1" },
        "mine",
      );
      const theirs = world.chat.sendPublic({ ...a.caller, cid: "alices-1" }, "hers");
      world.drain();
      const back = world.login("bob", "b3", world.chat.missedBy("bob", seen));
      const caught = messages(world.drain().get(back.session.id));
      assert.deepEqual(caught.map((m) => [m.id, m.cid]), [[own.id, "c9-1"], [
        theirs.id,
        undefined,
      ]]);
    });
  },
);

Deno.test("counting cids stored as page runs are recognised after a restart and caught up", async () => {
  await withWorld((world) => {
    const a = world.login("alice", "a1");
    const b = world.login("bob", "b1");
    const seen = world.chat.sendPublic(a.caller, "seen live").id;
    // Over a page (256) of alice's counting ids, bob's own counting ids and plain sends between.
    const sent: { who: "alice" | "bob"; cid?: string; id: number }[] = [];
    for (let n = 1; n <= 300; n++) {
      const cid = `3f9c1a7e-${n}`;
      sent.push({ who: "alice", cid, id: world.chat.sendPublic({ ...a.caller, cid }, `a${n}`).id });
      if (n % 7 === 0) {
        const bobs = `77aa01be-${n / 7}`;
        const call = { ...b.caller, cid: bobs };
        sent.push({ who: "bob", cid: bobs, id: world.chat.sendPublic(call, `b${n}`).id });
      }
      if (n % 50 === 0) {
        sent.push({ who: "alice", id: world.chat.sendPublic(a.caller, "plain").id });
      }
    }
    world.store.commit();
    const after = world.restart();
    const again = {
      alice: after.login("alice", "a2").caller,
      bob: after.login("bob", "b2").caller,
    };
    for (const send of sent.filter((s) => s.cid !== undefined)) {
      const resent = after.chat.sendPublic({ ...again[send.who], cid: send.cid }, "again");
      assert.equal(resent.id, send.id, `${send.who} ${send.cid}`);
    }
    after.drain();
    const back = after.login("alice", "a3", after.chat.missedBy("alice", seen));
    const caught = messages(after.drain().get(back.session.id));
    assert.deepEqual(
      caught.map((m) => [m.id, m.cid]),
      sent.map((s) => [s.id, s.who === "alice" ? s.cid : undefined]),
      "alice's own sends carry their cid, bob's none",
    );
  });
});
