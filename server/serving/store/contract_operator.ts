// The `Store` contract's operator part: account summaries and deletion, deleted logins, bans,
// invitations and group policies. runStoreContract (contract.ts) runs it for every implementation.

import assert from "node:assert/strict";
import { conversationOf, type Store, type StoredMessage } from "./store.ts";
import type { ContractHelpers } from "./contract_site.ts";

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

function account(store: Store, key: string, created = T0): void {
  store.createAccount({ key, login: key.toUpperCase(), password: "h", created });
}

function direct(from: string, to: string, text: string): Omit<StoredMessage, "id"> {
  const conv = conversationOf({ scope: "direct", a: from, b: to });
  return { ts: T0, conv, scope: "direct", from, to, action: false, text };
}

/** Registers the operator part of the contract for one implementation: accounts, then access rules. */
export function runOperatorContract(name: string, helpers: ContractHelpers): void {
  operatorAccountContract(name, helpers);
  accessContract(name, helpers);
}

/** Account summaries and roles, deleting an account, and the deleted logins kept. */
function operatorAccountContract(name: string, { withSite, withStore }: ContractHelpers): void {
  Deno.test(`${name}: store account summaries carry role and last seen, and survive reopening`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      account(store, "bob", T0 + 1);
      account(store, "alice", T0);
      assert.deepEqual(store.accountSummary("alice"), {
        key: "alice",
        login: "ALICE",
        created: T0,
        role: "user",
      });
      store.setRole("alice", "operator");
      store.touchAccount("bob", T0 + 5);
      store.close();
      const again = await site.open();
      try {
        assert.deepEqual(again.listAccounts(), [
          { key: "alice", login: "ALICE", created: T0, role: "operator" },
          { key: "bob", login: "BOB", created: T0 + 1, lastSeen: T0 + 5, role: "user" },
        ]);
        assert.equal(again.accountSummary("nobody"), undefined);
      } finally {
        again.close();
      }
    });
  });

  Deno.test(`${name}: store.deleteAccount() removes the account and its private history only`, async () => {
    await withStore((store) => {
      for (const key of ["alice", "bob", "carol"]) account(store, key);
      store.saveToken("t-bob", "bob", T0, T0 + HOUR);
      store.createGroup({ key: "ops", name: "ops", ownerKey: "alice", created: T0 });
      store.addMember("ops", "alice", "ALICE", T0);
      store.addMember("ops", "bob", "BOB", T0);
      const toBob = store.addMessage(direct("alice", "bob", "secret"));
      store.addUndelivered("bob", toBob);
      const fromBobToCarol = store.addMessage(direct("bob", "carol", "hi carol"));
      store.addUndelivered("carol", fromBobToCarol);
      assert.equal(store.undeliveredCount("carol"), 1, "counted before the delete");
      const kept = store.addMessage(direct("alice", "carol", "kept"));
      store.addMessage({
        ts: T0,
        conv: "p",
        scope: "public",
        from: "BOB",
        action: false,
        text: "public stays",
      });
      store.commit();

      store.deleteAccount("bob");
      store.commit();
      assert.equal(store.account("bob"), undefined);
      assert.equal(store.accountCount(), 2);
      assert.equal(store.tokenAccount("t-bob", T0), undefined);
      assert.deepEqual(store.loadGroups()[0].members.map((m) => m.account), ["alice"]);
      assert.deepEqual(store.history(toBob.conv, Infinity, 10), []);
      assert.deepEqual(store.history(fromBobToCarol.conv, Infinity, 10), []);
      assert.equal(store.undeliveredCount("carol"), 0, "the count follows the delete");
      assert.deepEqual(store.takeUndelivered("carol"), [], "bob's undelivered message is gone");
      assert.deepEqual(store.takeUndelivered("bob"), []);
      assert.deepEqual(store.history(kept.conv, Infinity, 10).map((m) => m.text), ["kept"]);
      assert.deepEqual(store.history("p", Infinity, 10).map((m) => m.text), ["public stays"]);
      assert.deepEqual(store.directContacts("alice"), ["carol"]);
    });
  });

  Deno.test(`${name}: store deleted logins are kept in order, each with its reservation`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      const first = {
        key: "bob",
        login: "bob",
        deleted: T0,
        reservedUntil: T0 + HOUR,
        lastMessageId: 3,
      };
      const second = { ...first, login: "Bob", deleted: T0 + 2 * HOUR, lastMessageId: 9 };
      store.addDeletedLogin(first);
      store.addDeletedLogin(second);
      store.close();
      const again = await site.open();
      try {
        assert.deepEqual(again.deletedLogins(), [first, second]);
      } finally {
        again.close();
      }
    });
  });
}

/** Who may come in and where: bans, invitations and group policies. */
function accessContract(name: string, { withSite, withStore }: ContractHelpers): void {
  Deno.test(`${name}: store bans are listed until they expire and lifted by kind and target`, async () => {
    await withStore((store) => {
      const forever = {
        kind: "login" as const,
        target: "mallory",
        reason: "spam",
        by: "operator",
        created: T0,
      };
      const hour = {
        kind: "address" as const,
        target: "203.0.113.0/24",
        reason: "",
        by: "alice",
        created: T0 + 1,
        expires: T0 + HOUR,
      };
      store.addBan(forever);
      store.addBan(hour);
      store.commit();
      assert.deepEqual(store.bans(T0 + 2), [forever, hour]);
      assert.deepEqual(store.bans(T0 + HOUR), [forever], "expired at its end");
      store.addBan({ ...forever, reason: "again" });
      assert.deepEqual(store.bans(T0 + 2).map((b) => b.reason), ["again", ""], "replaced");
      assert.equal(store.removeBan("login", "mallory"), true);
      assert.equal(store.removeBan("login", "mallory"), false);
      assert.equal(store.removeBan("login", "203.0.113.0/24"), false, "the kind must match");
      assert.deepEqual(store.bans(T0 + 2), [hour]);
    });
  });

  Deno.test(`${name}: store invitations are used up, expire, and are found by hash only`, async () => {
    await withStore((store) => {
      store.createInvite({ hash: "h2", uses: 2, created: T0, by: "operator" });
      store.createInvite({ hash: "h1", uses: 1, created: T0 + 1, expires: T0 + HOUR, by: "alice" });
      store.commit();
      assert.deepEqual(store.invites(T0 + 2).map((i) => [i.hash, i.uses]), [["h2", 2], ["h1", 1]]);
      assert.equal(store.useInvite("nope", T0), false);
      assert.equal(store.useInvite("h1", T0 + HOUR), false, "expired");
      assert.equal(store.useInvite("h1", T0 + 2), true);
      assert.equal(store.useInvite("h1", T0 + 2), false, "used up");
      assert.equal(store.useInvite("h2", T0 + 2), true);
      assert.deepEqual(store.invites(T0 + 2), [{
        hash: "h2",
        uses: 1,
        created: T0,
        by: "operator",
      }]);
      assert.equal(store.useInvite("h2", T0 + 2), true);
      assert.deepEqual(store.invites(T0 + 2), []);
    });
  });

  Deno.test(`${name}: store group policies survive reopening and go with their group`, async () => {
    await withSite(async (site) => {
      const store = await site.open();
      for (const key of ["ops", "dev"]) {
        store.createGroup({ key, name: key, ownerKey: "alice", created: T0 });
        store.addMember(key, "alice", "alice", T0);
      }
      const policy = {
        topic: "deploys only",
        inviteOnly: true,
        banned: { mallory: "Mallory" },
        invited: ["bob"],
      };
      store.setGroupPolicy("ops", policy);
      store.setGroupPolicy("dev", { topic: "x" });
      store.setGroupPolicy("dev", {});
      store.close();
      const again = await site.open();
      try {
        assert.deepEqual([...again.groupPolicies()], [["ops", policy]]);
        assert.deepEqual(
          again.loadGroups().map((g) => Object.keys(g).sort()),
          [["created", "key", "members", "name", "ownerKey"], [
            "created",
            "key",
            "members",
            "name",
            "ownerKey",
          ]],
          "groups load as before",
        );
        again.deleteGroup("ops");
        assert.deepEqual([...again.groupPolicies()], []);
      } finally {
        again.close();
      }
    });
  });
}
