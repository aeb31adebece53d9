// The `Store` contract: the behaviour every store implementation must show, as one test suite.
// Run by each implementation's test file with a factory: runStoreContract("SQLite", makeSite).

import assert from "node:assert/strict";
import { encodeMessage } from "../message_event.ts";
import { runOperatorContract } from "./contract_operator.ts";
import type { ContractHelpers, StoreSite } from "./contract_site.ts";
import { type AddedMessage, conversationOf, type Store, type StoredMessage } from "./store.ts";

export type { StoreSite } from "./contract_site.ts";

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

/**
 * Registers the contract's tests (`Deno.test`) for one implementation, each test named
 * `<name>: …`. `makeSite` gives each test a fresh, empty site. The tests are registered by area,
 * in this order, so every implementation runs the same list.
 *
 * @example
 * ```ts
 * import { openSqliteStore } from "./sqlite.ts";
 * runStoreContract("SQLite", async () => {
 *   const dir = await Deno.makeTempDir();
 *   return {
 *     open: (options) => openSqliteStore(dir, options),
 *     remove: () => Deno.remove(dir, { recursive: true }),
 *   };
 * });
 * ```
 */
export function runStoreContract(
  name: string,
  makeSite: () => StoreSite | Promise<StoreSite>,
): void {
  /** Runs `fn` with a fresh site, removed afterwards whatever happens. */
  async function withSite(fn: (site: StoreSite) => void | Promise<void>): Promise<void> {
    const site = await makeSite();
    try {
      await fn(site);
    } finally {
      await site.remove();
    }
  }

  /** Runs `fn` with a store on a fresh site, closed and removed afterwards. */
  function withStore(fn: (store: Store) => void | Promise<void>): Promise<void> {
    return withSite(async (site) => {
      const store = await site.open();
      try {
        await fn(store);
      } finally {
        store.close();
      }
    });
  }

  const helpers = { withSite, withStore };
  accountContract(name, helpers);
  groupContract(name, helpers);
  messageContract(name, helpers);
  undeliveredContract(name, helpers);
  retentionContract(name, helpers);
  wipeContract(name, helpers);
  transactionContract(name, helpers);
  pageContract(name, helpers);
  crossCheckContract(name, helpers);
  runOperatorContract(name, helpers);
}

/** Accounts, session tokens and the plugins' key-value storage. */
function accountContract(name: string, { withSite, withStore }: ContractHelpers): void {
  Deno.test(`${name}: store accounts are created, found by key and updated`, async () => {
    await withStore((store) => {
      assert.equal(store.account("alice"), undefined);
      assert.equal(store.accountCount(), 0);
      store.createAccount({ key: "alice", login: "Alice", password: "h1", created: T0 });
      store.createAccount({ key: "bob", login: "bob", password: "h2", created: T0 + 1 });
      assert.deepEqual({ ...store.account("alice") }, {
        key: "alice",
        login: "Alice",
        password: "h1",
        created: T0,
      });
      assert.equal(store.account("Alice"), undefined, "lookups are by key");
      assert.equal(store.accountCount(), 2);
      store.setPassword("alice", "h3");
      assert.equal(store.account("alice")?.password, "h3");
      assert.equal(store.account("bob")?.password, "h2");
      assert.throws(() =>
        store.createAccount({ key: "alice", login: "ALICE", password: "x", created: 0 })
      );
    });
  });

  Deno.test(`${name}: store plugin values are kept per plugin and survive reopening`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      try {
        assert.equal(store.pluginValue("seen", "alice"), undefined);
        store.setPluginValue("seen", "alice", "1");
        store.setPluginValue("seen", "alice", "2");
        store.setPluginValue("seen", "a%_b", "3");
        store.setPluginValue("seen", "bob", "4");
        store.setPluginValue("other", "alice", "5");
        assert.equal(store.pluginValue("seen", "alice"), "2", "a set replaces");
        assert.equal(store.pluginValue("other", "alice"), "5", "plugins do not share keys");
        assert.deepEqual(store.pluginKeys("seen", "", 10), ["a%_b", "alice", "bob"]);
        assert.deepEqual(store.pluginKeys("seen", "a", 10), ["a%_b", "alice"]);
        assert.deepEqual(store.pluginKeys("seen", "a%", 10), ["a%_b"], "no pattern characters");
        assert.deepEqual(store.pluginKeys("seen", "", 2), ["a%_b", "alice"]);
        store.deletePluginValue("seen", "bob");
        store.deletePluginValue("seen", "nobody");
        store.commit();
      } finally {
        store.close();
      }
      const reopened = await site.open();
      try {
        assert.deepEqual(reopened.pluginKeys("seen", "", 10), ["a%_b", "alice"]);
        assert.equal(reopened.pluginValue("seen", "alice"), "2");
        assert.equal(reopened.pluginValue("other", "alice"), "5");
      } finally {
        reopened.close();
      }
    });
  });

  Deno.test(`${name}: store tokens resolve to their account until they expire`, async (t) => {
    await withStore(async (store) => {
      store.saveToken("hash-a1", "alice", T0, T0 + DAY);
      store.saveToken("hash-a2", "alice", T0, T0 + 2 * DAY);
      store.saveToken("hash-b", "bob", T0, T0 + DAY);
      await t.step("before expiry", () => {
        assert.equal(store.tokenAccount("hash-a1", T0), "alice");
        assert.equal(store.tokenAccount("hash-b", T0 + DAY - 1), "bob");
      });
      await t.step("at and after expiry", () => {
        assert.equal(store.tokenAccount("hash-a1", T0 + DAY), undefined);
        assert.equal(store.tokenAccount("hash-a1", T0 + 3 * DAY), undefined);
        assert.equal(store.tokenAccount("hash-a2", T0 + DAY), "alice");
      });
      await t.step("an unknown hash", () => {
        assert.equal(store.tokenAccount("nope", T0), undefined);
      });
      await t.step("dropToken forgets one token", () => {
        store.saveToken("hash-a3", "alice", T0, T0 + 2 * DAY);
        store.dropToken("hash-a3");
        assert.equal(store.tokenAccount("hash-a3", T0), undefined);
        assert.equal(store.tokenAccount("hash-a2", T0 + DAY), "alice");
      });
      await t.step("dropTokens forgets every token of one account", () => {
        store.dropTokens("alice");
        assert.equal(store.tokenAccount("hash-a1", T0), undefined);
        assert.equal(store.tokenAccount("hash-a2", T0), undefined);
        assert.equal(store.tokenAccount("hash-b", T0), "bob");
      });
    });
  });
}

/** Groups and their memberships. */
function groupContract(name: string, { withSite, withStore }: ContractHelpers): void {
  Deno.test(`${name}: store groups and members load back in join order after reopening`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      store.createGroup({ key: "ops", name: "Ops", ownerKey: "zed", created: T0 });
      store.createGroup({ key: "dev", name: "dev", ownerKey: "bob", created: T0 + 5 });
      store.createGroup({ key: "gone", name: "gone", ownerKey: "bob", created: T0 });
      // Joined out of alphabetical and insertion order on purpose.
      store.addMember("ops", "zed", "Zed", T0);
      store.addMember("ops", "carol", "Carol", T0 + 20);
      store.addMember("ops", "alice", "Alice", T0 + 10);
      store.addMember("ops", "bob", "Bob", T0 + 20); // same time as carol: insertion order decides
      store.addMember("ops", "alice", "Alice", T0 + 99); // already a member: ignored
      store.addMember("dev", "bob", "bob", T0 + 5);
      store.addMember("dev", "dave", "Dave", T0 + 6);
      store.addMember("gone", "bob", "bob", T0);
      store.removeMember("dev", "dave");
      store.setOwner("ops", "alice");
      store.deleteGroup("gone");
      store.close();

      const reopened = await site.open();
      try {
        assert.deepEqual(reopened.loadGroups(), [
          {
            key: "dev",
            name: "dev",
            ownerKey: "bob",
            created: T0 + 5,
            members: [{ account: "bob", login: "bob" }],
          },
          {
            key: "ops",
            name: "Ops",
            ownerKey: "alice",
            created: T0,
            members: [
              { account: "zed", login: "Zed" },
              { account: "alice", login: "Alice" },
              { account: "carol", login: "Carol" },
              { account: "bob", login: "Bob" },
            ],
          },
        ]);
      } finally {
        reopened.close();
      }
    });
  });

  Deno.test(`${name}: store.deleteGroup() also forgets the group's members`, async () => {
    await withStore((store) => {
      store.createGroup({ key: "ops", name: "ops", ownerKey: "alice", created: T0 });
      store.addMember("ops", "alice", "alice", T0);
      store.deleteGroup("ops");
      // A new group of the same name starts empty.
      store.createGroup({ key: "ops", name: "OPS", ownerKey: "bob", created: T0 + 1 });
      assert.deepEqual(store.loadGroups(), [
        { key: "ops", name: "OPS", ownerKey: "bob", created: T0 + 1, members: [] },
      ]);
    });
  });
}

/** Message ids, the fields a message keeps, and paging back through a conversation's history. */
function messageContract(name: string, { withSite, withStore }: ContractHelpers): void {
  Deno.test(`${name}: store.addMessage() gives increasing ids that survive reopening`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      assert.equal(store.lastMessageId, 0);
      const first = store.addMessage(publicMessage("one"));
      const second = store.addMessage(directMessage("alice", "bob", "two"));
      assert.equal(first.id, 1);
      assert.equal(second.id, 2);
      assert.deepEqual(plain(first), {
        id: 1,
        ...publicMessage("one"),
        to: undefined,
        group: undefined,
      });
      assert.equal(first.event, encodeMessage(first), "the event clients receive, encoded once");
      assert.equal(store.lastMessageId, 2);
      assert.equal(store.messageCount(), 2);
      store.close();

      const reopened = await site.open();
      try {
        assert.equal(reopened.lastMessageId, 2);
        assert.equal(reopened.addMessage(publicMessage("three")).id, 3);
        const [stored] = reopened.history(second.conv, Number.MAX_SAFE_INTEGER, 10);
        assert.deepEqual(stored, { ...plain(second), group: undefined });
      } finally {
        reopened.close();
      }
    });
  });

  Deno.test(`${name}: store.addMessage() keeps every field of a group action`, async () => {
    await withStore((store) => {
      const conv = conversationOf({ scope: "group", groupKey: "ops", created: 5 });
      const message = {
        ts: T0,
        conv,
        scope: "group" as const,
        from: "alice",
        group: "Ops",
        action: true,
        text: "waves 🎉",
      };
      const stored = store.addMessage(message);
      assert.deepEqual(store.history(conv, Number.MAX_SAFE_INTEGER, 1), [
        { ...message, id: stored.id, to: undefined },
      ]);
    });
  });

  Deno.test(`${name}: store.history() pages through one conversation, oldest first`, async (t) => {
    await withStore(async (store) => {
      const ids: number[] = [];
      for (let i = 1; i <= 10; i++) {
        ids.push(store.addMessage(publicMessage(`p${i}`)).id);
        store.addMessage(directMessage("alice", "bob", `d${i}`));
      }
      const texts = (messages: StoredMessage[]) => messages.map((m) => m.text);

      await t.step("the newest `limit` messages, oldest first", () => {
        assert.deepEqual(texts(store.history("p", Number.MAX_SAFE_INTEGER, 3)), [
          "p8",
          "p9",
          "p10",
        ]);
      });
      await t.step("`before` is exclusive and pages backwards", () => {
        const page = store.history("p", ids[7], 3); // below p8
        assert.deepEqual(texts(page), ["p5", "p6", "p7"]);
        assert.deepEqual(texts(store.history("p", page[0].id, 3)), ["p2", "p3", "p4"]);
        assert.deepEqual(texts(store.history("p", ids[1], 3)), ["p1"]);
        assert.deepEqual(store.history("p", ids[0], 3), []);
      });
      await t.step("a limit above the count returns everything", () => {
        assert.equal(store.history("p", Number.MAX_SAFE_INTEGER, 100).length, 10);
      });
      await t.step("only the asked conversation", () => {
        const direct = store.history(
          conversationOf({ scope: "direct", a: "bob", b: "alice" }),
          Number.MAX_SAFE_INTEGER,
          2,
        );
        assert.deepEqual(texts(direct), ["d9", "d10"]);
        assert.ok(direct.every((m) => m.scope === "direct" && m.to === "bob"));
        assert.deepEqual(
          store.history(
            conversationOf({ scope: "direct", a: "alice", b: "carol" }),
            Number.MAX_SAFE_INTEGER,
            5,
          ),
          [],
        );
      });
    });
  });
}

/** Messages kept for offline accounts, and how many wait for each. */
function undeliveredContract(name: string, { withSite }: ContractHelpers): void {
  Deno.test(`${name}: store.takeUndelivered() returns an account's queued messages once, oldest first`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      const m1 = store.addMessage(directMessage("alice", "bob", "one"));
      const m2 = store.addMessage(directMessage("carol", "bob", "two"));
      const m3 = store.addMessage(directMessage("bob", "alice", "three"));
      store.addUndelivered("bob", m2);
      store.addUndelivered("bob", m1);
      store.addUndelivered("bob", m1); // twice: kept once
      store.addUndelivered("alice", m3);
      store.close();

      const reopened = await site.open();
      try {
        // With a limit, the oldest go and the rest stay for the next take.
        assert.deepEqual(reopened.takeUndelivered("bob", 1).map((m) => m.text), ["one"]);
        assert.deepEqual(reopened.takeUndelivered("bob", 5).map((m) => m.text), ["two"]);
        assert.deepEqual(reopened.takeUndelivered("bob"), []);
        assert.deepEqual(reopened.takeUndelivered("carol"), []);
        const [forAlice] = reopened.takeUndelivered("alice");
        assert.deepEqual(forAlice, { ...plain(m3), group: undefined });
        // The messages themselves stay in history.
        assert.equal(reopened.messageCount(), 3);
      } finally {
        reopened.close();
      }
    });
  });

  Deno.test(`${name}: store.undeliveredCount() counts what waits for an account, exactly across rollbacks`, async (t) => {
    await withSite(async (site) => {
      const store = await site.open();
      try {
        await t.step("adds and takes are counted, a message kept twice once", () => {
          assert.equal(store.undeliveredCount("bob"), 0);
          const m1 = store.addMessage(directMessage("alice", "bob", "one"));
          const m2 = store.addMessage(directMessage("carol", "bob", "two"));
          store.addUndelivered("bob", m1);
          assert.equal(store.undeliveredCount("bob"), 1, "this turn's own add counts");
          store.addUndelivered("bob", m2);
          store.addUndelivered("bob", m2);
          assert.equal(store.undeliveredCount("bob"), 2);
          assert.equal(store.undeliveredCount("alice"), 0, "per account");
          store.commit();
          assert.equal(store.undeliveredCount("bob"), 2);
          store.takeUndelivered("bob", 1);
          assert.equal(store.undeliveredCount("bob"), 1);
          store.commit();
        });
        await t.step("a rolled-back add or take is not counted", () => {
          const m3 = store.addMessage(directMessage("alice", "bob", "three"));
          store.addUndelivered("bob", m3);
          assert.equal(store.undeliveredCount("bob"), 2);
          store.rollback();
          assert.equal(store.undeliveredCount("bob"), 1, "the add was rolled back");
          store.rollback();
          store.takeUndelivered("bob");
          assert.equal(store.undeliveredCount("bob"), 0);
          store.rollback();
          assert.equal(store.undeliveredCount("bob"), 1, "the take was rolled back");
          store.rollback();
        });
        await t.step("pruned copies are not counted", () => {
          assert.ok(store.prune({ maxMessages: 0 }, T0) > 0);
          assert.equal(store.undeliveredCount("bob"), 0);
          store.commit();
        });
      } finally {
        store.close();
      }
      const reopened = await site.open();
      try {
        assert.equal(reopened.undeliveredCount("bob"), 0, "a reopened store counts what is stored");
      } finally {
        reopened.close();
      }
    });
  });
}

/** Retention: pruning by count and by age, and ids that never repeat after it. */
function retentionContract(name: string, { withSite, withStore }: ContractHelpers): void {
  Deno.test(`${name}: store.prune() deletes history past the message count limit`, async () => {
    await withStore((store) => {
      for (let i = 1; i <= 10; i++) addTurn(store, publicMessage(`m${i}`));
      const queued = addTurn(store, directMessage("alice", "bob", "old dm"));
      store.addUndelivered("bob", queued);
      for (let i = 12; i <= 15; i++) addTurn(store, publicMessage(`m${i}`));

      assert.equal(store.prune({}, T0), 0, "no limits, nothing goes");
      assert.equal(store.prune({ maxMessages: 4 }, T0), 11);
      assert.equal(store.messageCount(), 4);
      assert.deepEqual(
        store.history("p", Number.MAX_SAFE_INTEGER, 100).map((m) => m.text),
        ["m12", "m13", "m14", "m15"],
      );
      assert.deepEqual(
        store.takeUndelivered("bob"),
        [],
        "undelivered copies of pruned messages go",
      );
      assert.equal(store.prune({ maxMessages: 4 }, T0), 0, "pruning again removes nothing");
    });
  });

  Deno.test(`${name}: store.prune() takes the messages of one turn in one conversation together`, async () => {
    await withStore((store) => {
      for (let i = 1; i <= 3; i++) store.addMessage(publicMessage(`burst${i}`));
      store.commit();
      addTurn(store, publicMessage("later"));
      assert.equal(
        store.prune({ maxMessages: 2 }, T0),
        0,
        "the burst's newest is within the limit",
      );
      assert.equal(store.prune({ maxMessages: 1 }, T0), 3, "the whole burst goes with its newest");
      assert.deepEqual(store.history("p", Number.MAX_SAFE_INTEGER, 10).map((m) => m.text), [
        "later",
      ]);
    });
  });

  Deno.test(`${name}: store.prune() deletes history older than the age limit`, async () => {
    await withStore((store) => {
      addTurn(store, publicMessage("ancient", T0 - 10 * DAY));
      const old = addTurn(store, { ...directMessage("alice", "bob", "old"), ts: T0 - 2 * DAY });
      store.addUndelivered("bob", old);
      addTurn(store, publicMessage("yesterday", T0 - DAY));
      const fresh = addTurn(store, { ...directMessage("carol", "bob", "fresh"), ts: T0 });
      store.addUndelivered("bob", fresh);

      assert.equal(store.prune({ maxAgeMs: DAY }, T0 + 1), 3);
      assert.equal(store.messageCount(), 1);
      assert.deepEqual(store.takeUndelivered("bob").map((m) => m.text), ["fresh"]);
    });
  });

  Deno.test(`${name}: store.prune() keeps a message exactly at the age limit`, async () => {
    await withStore((store) => {
      addTurn(store, publicMessage("older", T0 - DAY - 1));
      addTurn(store, publicMessage("edge", T0 - DAY));
      assert.equal(store.prune({ maxAgeMs: DAY }, T0), 1);
      assert.deepEqual(store.history("p", Number.MAX_SAFE_INTEGER, 10).map((m) => m.text), [
        "edge",
      ]);
    });
  });

  Deno.test(`${name}: store ids keep increasing after history was pruned to nothing and reopened`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      store.addMessage(publicMessage("one", T0));
      const last = store.addMessage(publicMessage("two", T0));
      assert.equal(store.prune({ maxAgeMs: DAY }, T0 + 2 * DAY), 2);
      store.close();

      const reopened = await site.open();
      try {
        assert.equal(reopened.messageCount(), 0);
        const next = reopened.addMessage(publicMessage("three", T0 + 2 * DAY));
        assert.ok(next.id > last.id, `id ${next.id} reuses an id up to ${last.id}`);
      } finally {
        reopened.close();
      }
    });
  });
}

/** Wiping the identities: what `clearIdentities` takes and what it leaves. */
function wipeContract(name: string, { withSite }: ContractHelpers): void {
  Deno.test(`${name}: store.clearIdentities() wipes identities and private history, keeps the public room`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      store.createAccount({ key: "alice", login: "alice", password: "h", created: T0 });
      store.createAccount({ key: "bob", login: "bob", password: "h", created: T0 });
      store.saveToken("hash", "alice", T0, T0 + DAY);
      store.createGroup({ key: "ops", name: "ops", ownerKey: "alice", created: T0 });
      store.addMember("ops", "alice", "alice", T0);
      const dm = store.addMessage(directMessage("alice", "bob", "hi"));
      store.addUndelivered("bob", dm);
      store.addMessage(publicMessage("hello"));

      assert.equal(store.clearIdentities(), 2);
      store.close();

      const reopened = await site.open();
      try {
        assert.equal(reopened.accountCount(), 0);
        assert.equal(reopened.account("alice"), undefined);
        assert.equal(reopened.tokenAccount("hash", T0), undefined);
        assert.deepEqual(reopened.loadGroups(), []);
        assert.deepEqual(reopened.takeUndelivered("bob"), []);
        assert.equal(reopened.messageCount(), 1);
        assert.deepEqual(
          reopened.history(dm.conv, Number.MAX_SAFE_INTEGER, 10),
          [],
          "no old DMs for a new alice",
        );
        assert.equal(reopened.history("p", Number.MAX_SAFE_INTEGER, 10)[0].text, "hello");
        // The accounts are free to register again.
        reopened.createAccount({ key: "alice", login: "Alice", password: "h2", created: T0 + 1 });
        assert.equal(reopened.account("alice")?.login, "Alice");
      } finally {
        reopened.close();
      }
    });
  });
}

/** The commit discipline within one store: a turn's transaction, rolled back or closed. */
function transactionContract(name: string, { withSite }: ContractHelpers): void {
  Deno.test(`${name}: store.rollback() undoes the open transaction's writes`, async (t) => {
    await withSite(async (site) => {
      let writes = 0;
      const store = await site.open({ onWrite: () => writes++ });
      try {
        await t.step("reads open no transaction", () => {
          store.account("alice");
          store.history("p", Number.MAX_SAFE_INTEGER, 10);
          store.takeUndelivered("alice");
          assert.equal(writes, 0);
        });
        await t.step("the first write of a turn opens one transaction", () => {
          store.createAccount({ key: "alice", login: "alice", password: "h", created: T0 });
          store.addMessage(publicMessage("kept"));
          assert.equal(writes, 1);
          store.commit();
          store.commit(); // nothing open: no-op
        });
        await t.step("a rolled-back write is gone", () => {
          store.createAccount({ key: "bob", login: "bob", password: "h", created: T0 });
          store.addMessage(publicMessage("lost"));
          store.createGroup({ key: "ops", name: "ops", ownerKey: "bob", created: T0 });
          assert.equal(writes, 2);
          assert.equal(store.account("bob")?.login, "bob", "visible inside the transaction");
          store.rollback();
          store.rollback(); // nothing open: no-op
          assert.equal(store.account("bob"), undefined);
          assert.equal(store.account("alice")?.login, "alice");
          assert.deepEqual(store.loadGroups(), []);
          assert.deepEqual(
            store.history("p", Number.MAX_SAFE_INTEGER, 10).map((m) => m.text),
            ["kept"],
          );
        });
        await t.step("ids stay unique after a rollback", () => {
          const next = store.addMessage(publicMessage("after"));
          assert.ok(next.id > 2, `id ${next.id}`);
          assert.equal(writes, 3);
          store.commit();
        });
        await t.step(
          "a direct conversation first noted in a rolled-back turn is noted again",
          () => {
            store.addMessage(directMessage("carol", "dave", "lost"));
            store.history("p", Number.MAX_SAFE_INTEGER, 1); // writes the pages, notes included
            store.rollback();
            const kept = store.addMessage(directMessage("carol", "dave", "kept"));
            store.commit();
            assert.deepEqual(
              store.missed(0, { key: "dave", groupConvs: [] }, 10)
                .filter((m) => m.scope === "direct").map((m) => m.id),
              [kept.id],
              "dave's catch-up finds the conversation",
            );
          },
        );
      } finally {
        store.close();
      }
      const reopened = await site.open();
      try {
        assert.equal(reopened.account("bob"), undefined);
        assert.deepEqual(
          reopened.history("p", Number.MAX_SAFE_INTEGER, 10).map((m) => m.text),
          ["kept", "after"],
        );
      } finally {
        reopened.close();
      }
    });
  });

  Deno.test(`${name}: store.close() commits the open transaction`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      store.createAccount({ key: "alice", login: "alice", password: "h", created: T0 });
      store.close();
      const reopened = await site.open();
      try {
        assert.equal(reopened.account("alice")?.login, "alice");
      } finally {
        reopened.close();
      }
    });
  });
}

/**
 * A turn's messages written as pages at commit, and read back across them: history, catch-up
 * (`missed`), id ranges (`messagesBetween`).
 */
function pageContract(name: string, { withSite, withStore }: ContractHelpers): void {
  Deno.test(`${name}: store.addMessage() buffers a turn's messages and writes them as pages at commit`, async (t) => {
    await withSite(async (site) => {
      const store = await site.open();
      try {
        const ids: number[] = [];
        await t.step("600 messages in one turn fill more than two pages", () => {
          for (let i = 0; i < 600; i++) {
            ids.push(store.addMessage(publicMessage(`m${i}`)).id);
            if (i % 7 === 0) store.addMessage(directMessage("alice", "bob", `d${i}`));
          }
          assert.deepEqual(
            store.history("p", Number.MAX_SAFE_INTEGER, 1000).map((m) => m.id),
            ids,
            "reads see buffered messages",
          );
          store.commit();
          assert.equal(store.messageCount(), 600 + 86);
        });
        await t.step("history pages backwards across page boundaries", () => {
          for (const before of [ids[599], ids[400], ids[257], ids[256], ids[255], ids[5]]) {
            const index = ids.indexOf(before);
            const expected = ids.slice(Math.max(0, index - 50), index);
            assert.deepEqual(store.history("p", before, 50).map((m) => m.id), expected);
          }
          assert.deepEqual(store.history("p", ids[0], 50), []);
          assert.deepEqual(store.history("p", Number.MAX_SAFE_INTEGER, 0), []);
        });
        await t.step("a rollback drops buffered messages", () => {
          store.addMessage(publicMessage("gone"));
          store.rollback();
          assert.equal(store.messageCount(), 686);
        });
      } finally {
        store.close();
      }
    });
  });

  Deno.test(`${name}: store.missed() finds what an account missed after a message id`, async () => {
    await withStore((store) => {
      const before = store.addMessage(publicMessage("seen"));
      const pub = store.addMessage(publicMessage("missed public"));
      const toMe = store.addMessage(directMessage("alice", "bob", "to bob"));
      const fromMe = store.addMessage(directMessage("bob", "carol", "from bob"));
      store.addMessage(directMessage("alice", "carol", "not bob's"));
      const conv = conversationOf({ scope: "group", groupKey: "ops", created: 5 });
      const group = store.addMessage({
        ...publicMessage("in ops"),
        scope: "group",
        conv,
        group: "ops",
      });
      store.addMessage({
        ...publicMessage("in dev"),
        scope: "group",
        conv: "g:dev:1",
        group: "dev",
      });
      const missed = store.missed(before.id, { key: "bob", groupConvs: [conv] }, 100);
      assert.deepEqual(missed.map((m) => m.id), [pub.id, toMe.id, fromMe.id, group.id]);
      assert.equal(store.missed(before.id, { key: "bob", groupConvs: [] }, 2).length, 2, "capped");
    });
  });

  Deno.test(`${name}: store.messagesBetween() returns every conversation's messages in an id range`, async () => {
    await withStore((store) => {
      const before = store.addMessage(publicMessage("before"));
      const pub = store.addMessage({ ...publicMessage("public"), cid: "0:c-1" });
      const direct = store.addMessage(directMessage("alice", "bob", "direct"));
      store.commit();
      const group = store.addMessage({
        ...publicMessage("in ops"),
        scope: "group",
        conv: "g:ops:1",
        group: "ops",
      });
      const after = store.addMessage(publicMessage("after"));
      const found = store.messagesBetween(before.id, group.id);
      assert.deepEqual(found.map((m) => m.id), [pub.id, direct.id, group.id]);
      assert.deepEqual(found.map((m) => m.text), ["public", "direct", "in ops"]);
      assert.equal(found[0].cid, "0:c-1");
      assert.deepEqual(store.messagesBetween(group.id, after.id).map((m) => m.id), [after.id]);
      assert.deepEqual(store.messagesBetween(after.id, after.id + 10), []);
    });
  });

  Deno.test(`${name}: store.missed() returns each message's client message id`, async () => {
    await withStore((store) => {
      const before = store.addMessage(publicMessage("seen"));
      const mine = store.addMessage({ ...publicMessage("with cid"), from: "bob", cid: "0:ab-1" });
      store.commit();
      const plainOne = store.addMessage(publicMessage("without"));
      const missed = store.missed(before.id, { key: "bob", groupConvs: [] }, 10);
      assert.deepEqual(missed.map((m) => [m.id, m.cid]), [[mine.id, "0:ab-1"], [
        plainOne.id,
        undefined,
      ]]);
    });
  });
}

/**
 * Recent client ids (duplicate suppression after a restart), and reads checked against something
 * outside them: a plain list, a second store on the same site, the other side of a conversation.
 */
function crossCheckContract(name: string, { withSite, withStore }: ContractHelpers): void {
  Deno.test(`${name}: store.recentClientIds() returns the client ids of recent messages`, async () => {
    await withStore((store) => {
      store.addMessage(publicMessage("no cid, first in its page"));
      store.addMessage({ ...publicMessage("a"), cid: "c1" });
      store.addMessage(publicMessage("no cid"));
      const last = store.addMessage({ ...publicMessage("b"), cid: "c2" });
      assert.deepEqual(store.recentClientIds(10).map((r) => r.cid), ["c1", "c2"]);
      assert.deepEqual(store.recentClientIds(1).map((r) => r.id), [last.id]);
    });
  });

  Deno.test(`${name}: store.missed() and history() agree with a plain list over interleaved pages`, async () => {
    await withStore((store) => {
      const ops = conversationOf({ scope: "group", groupKey: "ops", created: 5 });
      const all: StoredMessage[] = [];
      // A fixed pseudo-random sequence: turns of up to 300 messages over four conversations.
      let seed = 7;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return Math.floor(seed / 65536) % n; // the high bits: an LCG's low bits repeat quickly
      };
      for (let turn = 0; turn < 12; turn++) {
        const size = 1 + next(600);
        for (let i = 0; i < size; i++) {
          const kind = next(4);
          const message = kind === 0
            ? publicMessage(`p${turn}.${i}`)
            : kind === 1
            ? directMessage("alice", "bob", `ab${turn}.${i}`)
            : kind === 2
            ? directMessage("carol", "dave", `cd${turn}.${i}`)
            : {
              ...publicMessage(`ops${turn}.${i}`),
              scope: "group" as const,
              conv: ops,
              group: "ops",
            };
          all.push(plain(store.addMessage(message)));
        }
        store.commit();
      }
      const bobSees = all.filter((m) => m.conv !== "d:carol:dave");
      for (const after of [0, 1, 150, 151, 700, all[all.length - 2].id]) {
        for (const limit of [1, 3, 64, 200, 5000]) {
          const expected = bobSees.filter((m) => m.id > after).slice(0, limit).map((m) => m.id);
          const got = store.missed(after, { key: "bob", groupConvs: [ops] }, limit);
          assert.deepEqual(got.map((m) => m.id), expected, `after ${after}, limit ${limit}`);
        }
      }
      const abIds = all.filter((m) => m.conv === "d:alice:bob").map((m) => m.id);
      assert.ok(abIds.length > 200, `only ${abIds.length} messages between alice and bob`);
      for (const index of [0, 1, 50, 255, 256, 257, abIds.length - 1]) {
        const before = abIds[index];
        assert.deepEqual(
          store.history("d:alice:bob", before, 60).map((m) => m.id),
          abIds.slice(Math.max(0, index - 60), index),
          `history before ${before}`,
        );
      }
    });
  });

  Deno.test(`${name}: store.commit() is what makes a turn's writes visible to another store`, async () => {
    await withSite(async (site) => {
      const writer = await site.open();
      const reader = await site.open();
      try {
        writer.createAccount({ key: "alice", login: "alice", password: "h", created: T0 });
        const message = writer.addMessage(publicMessage("hello"));
        assert.equal(writer.account("alice")?.login, "alice", "the writer reads its own writes");
        assert.equal(reader.account("alice"), undefined, "not before the commit");
        assert.deepEqual(reader.history("p", Number.MAX_SAFE_INTEGER, 10), []);
        writer.commit();
        assert.equal(reader.account("alice")?.login, "alice");
        assert.deepEqual(reader.history("p", Number.MAX_SAFE_INTEGER, 10).map((m) => m.id), [
          message.id,
        ]);
      } finally {
        reader.close();
        writer.close();
      }
    });
  });

  Deno.test(`${name}: store.directContacts() names the other side of each direct conversation`, async () => {
    await withStore((store) => {
      store.addMessage(directMessage("alice", "bob", "hi"));
      store.addMessage(directMessage("carol", "alice", "hey"));
      store.addMessage(directMessage("alice", "alice", "note to self"));
      store.addMessage(directMessage("bob", "carol", "not alice's"));
      store.addMessage(publicMessage("public"));
      assert.deepEqual(store.directContacts("alice").sort(), ["bob", "carol"]);
      assert.deepEqual(store.directContacts("dave"), []);
      store.commit();
      assert.deepEqual(store.directContacts("bob").sort(), ["alice", "carol"]);
    });
  });
}

function publicMessage(text: string, ts = T0): Omit<StoredMessage, "id"> {
  return { ts, conv: "p", scope: "public", from: "alice", action: false, text };
}

/** A stored message as reads return it: without the encoded event and the client message id. */
function plain({ event: _event, cid: _cid, ...message }: AddedMessage): StoredMessage {
  return message;
}

function directMessage(from: string, to: string, text: string): Omit<StoredMessage, "id"> {
  const conv = conversationOf({ scope: "direct", a: from, b: to });
  return { ts: T0, conv, scope: "direct", from, to, action: false, text };
}

/** Stores a message in a turn of its own, as a person chatting does: a page of its own. */
function addTurn(store: Store, message: Omit<StoredMessage, "id">): AddedMessage {
  const added = store.addMessage(message);
  store.commit();
  return added;
}
