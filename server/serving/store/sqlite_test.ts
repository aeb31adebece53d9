// Tests of the SQLite store: the Store contract (contract.ts) against a real database file in a
// temporary directory, then what only SQLite has: schema migrations and the checkpointer.

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { runStoreContract } from "./contract.ts";
import { MIGRATIONS, openCheckpointer, openSqliteStore } from "./sqlite.ts";
import { unreadablePages } from "./pages.ts";
import type { AddedMessage, Store, StoredMessage } from "./store.ts";

const T0 = 1_700_000_000_000;

runStoreContract("SQLite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chatz_store_test_" });
  return {
    open: (options) => openSqliteStore(dir, options),
    remove: () => Deno.remove(dir, { recursive: true }),
  };
});

/** Runs `fn` with a fresh temporary directory, removed afterwards whatever happens. */
async function withDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chatz_store_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function publicMessage(text: string, ts = T0): Omit<StoredMessage, "id"> {
  return { ts, conv: "p", scope: "public", from: "alice", action: false, text };
}

/** Stores a message in a turn of its own, as a person chatting does: a page of its own. */
function addTurn(store: Store, message: Omit<StoredMessage, "id">): AddedMessage {
  const added = store.addMessage(message);
  store.commit();
  return added;
}

Deno.test("openSqliteStore() creates the database and migrates it to the current schema", async () => {
  await withDir((dir) => {
    const store = openSqliteStore(join(dir, "nested", "data"));
    assert.equal(store.path, join(dir, "nested", "data", "chatz.db"));
    store.close();
    const db = new DatabaseSync(store.path);
    try {
      const version = Number(db.prepare("PRAGMA user_version").get()?.user_version);
      assert.ok(version >= 1, `schema version ${version}`);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
        .map((row) => String(row.name));
      for (const table of ["accounts", "tokens", "groups", "members", "pages", "undelivered"]) {
        assert.ok(tables.includes(table), `missing table ${table}`);
      }
    } finally {
      db.close();
    }
    // Opening again finds the schema current and changes nothing.
    openSqliteStore(join(dir, "nested", "data")).close();
  });
});

Deno.test("openSqliteStore() migrates a first-version store forward and keeps its data", async () => {
  await withDir((dir) => {
    // A store as the first release wrote it: one message of each kind, one of them undelivered.
    const db = new DatabaseSync(join(dir, "chatz.db"));
    db.exec(MIGRATIONS[0]);
    db.exec(`INSERT INTO accounts VALUES ('alice', 'Alice', 'h', ${T0});
      INSERT INTO messages VALUES (1, ${T0}, 'p', 'public', 'Alice', NULL, NULL, 0, 'one');
      INSERT INTO messages VALUES (2, ${T0}, 'd:alice:bob', 'direct', 'Alice', 'bob', NULL, 1, 'waves');
      INSERT INTO messages VALUES (3, ${T0}, 'g:ops:5', 'group', 'bob', NULL, 'Ops', 0, 'hi "ops"');
      INSERT INTO undelivered VALUES ('bob', 2);
      PRAGMA user_version = 1;`);
    db.close();

    const reopened = openSqliteStore(dir);
    try {
      assert.equal(reopened.account("alice")?.login, "Alice");
      assert.equal(reopened.lastMessageId, 3);
      assert.equal(reopened.messageCount(), 3);
      const direct = {
        id: 2,
        ts: T0,
        conv: "d:alice:bob",
        scope: "direct",
        from: "Alice",
        to: "bob",
        group: undefined,
        action: true,
        text: "waves",
      };
      assert.deepEqual(reopened.history("d:alice:bob", Number.MAX_SAFE_INTEGER, 10), [direct]);
      assert.deepEqual(
        reopened.history("g:ops:5", Number.MAX_SAFE_INTEGER, 10).map((m) => [m.group, m.text]),
        [["Ops", 'hi "ops"']],
      );
      assert.deepEqual(
        reopened.missed(0, { key: "bob", groupConvs: [] }, 10).map((m) => m.id),
        [1, 2],
        "bob's direct conversation is known after the migration",
      );
      assert.deepEqual(reopened.takeUndelivered("bob"), [direct]);
      assert.equal(reopened.addMessage(publicMessage("two")).id, 4);
      assert.equal(reopened.prune({ maxMessages: 0 }, T0), 4, "the new table is usable");
    } finally {
      reopened.close();
    }
  });
});

Deno.test("openSqliteStore() refuses a store from a newer chatz", async () => {
  await withDir((dir) => {
    openSqliteStore(dir).close();
    const db = new DatabaseSync(join(dir, "chatz.db"));
    db.exec("PRAGMA user_version = 999");
    db.close();
    assert.throws(() => openSqliteStore(dir), /Cannot open store: its schema version 999 is newer/);
  });
});

Deno.test("openCheckpointer() copies the write-ahead log into the database from its own connection", async () => {
  await withDir((dir) => {
    const store = openSqliteStore(dir);
    const checkpointer = openCheckpointer(dir);
    try {
      for (let turn = 0; turn < 20; turn++) addTurn(store, publicMessage(`m${turn}`));
      const first = checkpointer.checkpoint();
      assert.ok(first.log > 0, "the turns are in the log");
      assert.equal(first.checkpointed, first.log, "a passive checkpoint copied all of it");
      addTurn(store, publicMessage("after"));
      assert.deepEqual(
        store.history("p", Number.MAX_SAFE_INTEGER, 2).map((m) => m.text),
        ["m19", "after"],
        "the store writes on, the log restarted from its beginning",
      );
      const second = checkpointer.checkpoint();
      assert.ok(second.log < first.log, `the log holds ${second.log} pages, ${first.log} before`);
    } finally {
      checkpointer.close();
      store.close();
    }
  });
});

Deno.test("a damaged history page reads as empty; the pages around it are still served", async () => {
  await withDir((dir) => {
    let store = openSqliteStore(dir);
    const first = addTurn(store, publicMessage("first"));
    const damaged = addTurn(store, publicMessage("damaged"));
    const last = addTurn(store, publicMessage("last"));
    store.close();
    const db = new DatabaseSync(join(dir, "chatz.db"));
    try {
      db.prepare("UPDATE pages SET body = ? WHERE last = ?").run('[{"id":', damaged.id);
    } finally {
      db.close();
    }
    store = openSqliteStore(dir);
    try {
      const before = unreadablePages();
      const ids = store.history("p", Number.MAX_SAFE_INTEGER, 10).map((m) => m.id);
      assert.deepEqual(ids, [first.id, last.id]);
      const missed = store.missed(0, { key: "bob", groupConvs: [] }, 10).map((m) => m.id);
      assert.deepEqual(missed, [first.id, last.id]);
      assert.ok(unreadablePages() > before, "the damage is counted");
    } finally {
      store.close();
    }
  });
});

Deno.test("a page whose cids are [index, cid] pairs (written before the flat form) still gives them", async () => {
  await withDir((dir) => {
    let store = openSqliteStore(dir);
    const before = addTurn(store, publicMessage("before"));
    const plain = store.addMessage(publicMessage("no cid"));
    const mine = store.addMessage({ ...publicMessage("with cid"), from: "bob", cid: "0:ab-1" });
    store.commit();
    store.close();
    const db = new DatabaseSync(join(dir, "chatz.db"));
    try {
      const row = db.prepare("SELECT cids FROM pages WHERE last = ?").get(mine.id);
      assert.equal(row?.cids, '[null,"0:ab-1"]', "written flat, aligned with the events");
      db.prepare("UPDATE pages SET cids = ? WHERE last = ?").run('[[1,"0:ab-1"]]', mine.id);
    } finally {
      db.close();
    }
    store = openSqliteStore(dir);
    try {
      const missed = store.missed(before.id, { key: "bob", groupConvs: [] }, 10);
      assert.deepEqual(missed.map((m) => [m.id, m.cid]), [[plain.id, undefined], [
        mine.id,
        "0:ab-1",
      ]]);
      assert.deepEqual(store.recentClientIds(10).map((r) => [r.id, r.cid]), [[mine.id, "0:ab-1"]]);
    } finally {
      store.close();
    }
  });
});
