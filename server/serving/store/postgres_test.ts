// Tests of the PostgreSQL store: the Store contract (contract.ts) against a real, throwaway
// PostgreSQL server (one per file, a fresh database per test), then what only the cluster store has.

import assert from "node:assert/strict";
import { runStoreContract } from "./contract.ts";
import { ChatError } from "../../../protocol/errors.ts";
import postgres from "postgres";
import { openPostgresStore, StoreUnavailableError } from "./postgres.ts";
import { CLAIMS_LIVE_MS } from "./postgres_claims.ts";
import type { StoredMessage } from "./store.ts";
import { stablePort } from "../../../tests/ports.ts";
import { type Postgres, startPostgres } from "../../../tests/services.ts";

// One server for the whole file: started before the tests, stopped by the last one (or at unload
// when a filter skipped it).
const pg: Postgres = await startPostgres();
globalThis.addEventListener("unload", () => pg[Symbol.dispose]());
let databases = 0;

runStoreContract("PostgreSQL", async () => {
  const url = await pg.createDatabase(`contract_${++databases}`);
  return {
    open: (options) => openPostgresStore(url, options),
    remove: () => {},
  };
});

const T0 = 1_700_000_000_000;

function publicMessage(text: string): Omit<StoredMessage, "id"> {
  return { ts: T0, conv: "p", scope: "public", from: "alice", action: false, text };
}

Deno.test("openPostgresStore() gives message ids in commit order across nodes", async () => {
  const url = await pg.createDatabase(`nodes_${++databases}`);
  const a = openPostgresStore(url);
  const b = openPostgresStore(url);
  try {
    const ids: number[] = [];
    for (const [node, text] of [[a, "a1"], [b, "b1"], [a, "a2"], [b, "b2"]] as const) {
      ids.push(node.addMessage(publicMessage(text)).id);
      node.commit();
    }
    assert.deepEqual(ids, [1, 2, 3, 4]);
    assert.equal(a.lastMessageId, 4, "a node sees the ids another node gave");
    assert.deepEqual(b.history("p", Number.MAX_SAFE_INTEGER, 10).map((m) => m.text), [
      "a1",
      "b1",
      "a2",
      "b2",
    ]);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("openPostgresStore() creates an account once when two nodes race for it", async () => {
  const url = await pg.createDatabase(`race_${++databases}`);
  const a = openPostgresStore(url);
  const b = openPostgresStore(url);
  try {
    a.createAccount({ key: "alice", login: "alice", password: "a", created: T0 });
    a.commit();
    assert.throws(
      () => b.createAccount({ key: "alice", login: "Alice", password: "b", created: T0 }),
      /Cannot log in as "Alice": the login was just taken/,
    );
    b.addMessage(publicMessage("the turn goes on"));
    b.commit();
    assert.equal(a.account("alice")?.password, "a");
    assert.equal(a.messageCount(), 1);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("openPostgresStore() creates a group once when two nodes race for its name", async () => {
  const url = await pg.createDatabase(`group_race_${++databases}`);
  const a = openPostgresStore(url);
  const b = openPostgresStore(url);
  try {
    a.createGroup({ key: "ops", name: "ops", ownerKey: "alice", created: T0 });
    a.commit();
    assert.throws(
      () => b.createGroup({ key: "ops", name: "OPS", ownerKey: "bob", created: T0 + 1 }),
      (error: unknown) => error instanceof ChatError && error.code === "group_exists",
    );
    b.addMessage(publicMessage("the turn goes on"));
    b.commit();
    assert.deepEqual(a.loadGroups().map((g) => [g.name, g.ownerKey]), [["ops", "alice"]]);
    assert.equal(a.messageCount(), 1);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("openPostgresStore() counts undelivered messages across nodes, each turn anew", async () => {
  const url = await pg.createDatabase(`waiting_${++databases}`);
  const a = openPostgresStore(url);
  const b = openPostgresStore(url);
  const direct = (from: string, text: string): Omit<StoredMessage, "id"> => ({
    ts: T0,
    conv: `d:${from}:bob`,
    scope: "direct",
    from,
    to: "bob",
    action: false,
    text,
  });
  try {
    assert.equal(a.undeliveredCount("bob"), 0);
    a.addUndelivered("bob", a.addMessage(direct("alice", "from a")));
    assert.equal(a.undeliveredCount("bob"), 1);
    a.commit();
    // b counted under the id lock after a's commit: it sees a's row, not a count of its own.
    assert.equal(b.undeliveredCount("bob"), 1);
    b.addUndelivered("bob", b.addMessage(direct("carol", "from b")));
    assert.equal(b.undeliveredCount("bob"), 2);
    b.commit();
    assert.equal(a.undeliveredCount("bob"), 2, "a's count of an earlier turn is not reused");
    a.rollback();
    assert.deepEqual(b.takeUndelivered("bob").map((m) => m.text), ["from a", "from b"]);
    b.commit();
    assert.equal(a.undeliveredCount("bob"), 0);
    a.rollback();
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("openPostgresStore() refuses an unreachable database with store_unavailable", () => {
  const url = `postgres://chatz@127.0.0.1:${stablePort()}/none`;
  assert.throws(() => openPostgresStore(url), (error: unknown) => {
    assert.ok(error instanceof StoreUnavailableError);
    assert.equal(error.code, "store_unavailable");
    assert.match(error.message, /^Cannot use the database at postgres:\/\/chatz@127\.0\.0\.1/);
    return true;
  });
});

Deno.test("openPostgresStore() fails with store_unavailable while PostgreSQL is down, keeps nothing of that turn, then recovers", async () => {
  const url = await pg.createDatabase(`restart_${++databases}`);
  const store = openPostgresStore(url);
  const unavailable = (error: unknown) => error instanceof StoreUnavailableError;
  try {
    store.createAccount({ key: "alice", login: "alice", password: "old", created: T0 });
    store.addMessage(publicMessage("before"));
    store.commit();
    store.setPassword("alice", "lost"); // staged: it goes with the commit
    await pg.stop();
    assert.throws(() => store.commit(), unavailable);
    store.rollback();
    assert.throws(() => store.account("alice"), unavailable);
    assert.throws(() => store.addMessage(publicMessage("refused")), unavailable);
    store.rollback();
    await pg.start();
    assert.equal(store.account("alice")?.password, "old");
    store.addMessage(publicMessage("after"));
    store.commit();
    assert.deepEqual(store.history("p", Number.MAX_SAFE_INTEGER, 10).map((m) => m.text), [
      "before",
      "after",
    ]);
  } finally {
    store.close();
  }
});

Deno.test("sessionClaims() counts an account's sessions on the other live nodes, exactly", async () => {
  const url = await pg.createDatabase(`claims_${++databases}`);
  const [sa, sb] = [openPostgresStore(url), openPostgresStore(url)];
  const [a, b] = [sa.sessionClaims("a"), sb.sessionClaims("b")];
  // A client of its own, as a test looks at the tables and the locks from outside both nodes.
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const age = (node: string, ms: number) =>
    sql`UPDATE cluster_nodes SET seen_at = seen_at - ${ms} WHERE node = ${node}`;
  const counted = (on: typeof a, store: typeof sa, token = "other") => {
    const n = on.countElsewhere("alice", token);
    store.commit();
    return n;
  };
  try {
    for (const [claims, store] of [[a, sa], [b, sb]] as const) {
      claims.seen(() => []);
      store.commit();
    }
    b.claim({ account: "alice", tokenHash: "t1" });
    b.claim({ account: "alice", tokenHash: "t2" });
    sb.commit();
    assert.equal(counted(a, sa), 2, "b's two sessions");
    assert.equal(counted(b, sb), 0, "a node's own sessions are not counted (it knows them)");
    assert.equal(counted(a, sa, "t1"), 1, "the client with t1, moving to a, is not counted twice");

    // The count's lock is held until the turn commits: another node's login of alice waits.
    a.countElsewhere("alice", "other");
    const tryLock = () =>
      sql.begin(async (tx) =>
        (await tx`SELECT pg_try_advisory_xact_lock(${0x7373}, hashtext(${"alice"})) AS got`)[0].got
      );
    assert.equal(await tryLock(), false, "alice's lock, held by a's open turn");
    assert.equal(
      await sql`SELECT pg_try_advisory_xact_lock(${0x7373}, hashtext(${"bob"}))
      AS got`.then((r) => r[0].got),
      true,
      "bob's is free",
    );
    sa.commit();
    assert.equal(await tryLock(), true, "released by a's commit");

    // t1 moves to a (fail-over): b's later release of it leaves a's claim alone.
    a.claim({ account: "alice", tokenHash: "t1" });
    sa.commit();
    b.release("t1");
    sb.commit();
    assert.equal(counted(b, sb), 1, "t1, now a's");
    assert.equal(counted(a, sa), 1, "t2, still b's");

    // A node unseen for CLAIMS_LIVE_MS holds nothing that counts, until it is seen again.
    await age("b", CLAIMS_LIVE_MS + 1000);
    assert.equal(counted(a, sa), 0, "b went silent");
    b.seen(() => []);
    sb.commit();
    assert.equal(counted(a, sa), 1, "b is back");

    // Forgotten after a minute with its claims; seen again, it claims its sessions anew, except
    // one another node took over meanwhile.
    await age("b", 120_000);
    a.seen(() => []);
    sa.commit();
    assert.equal(
      Number((await sql`SELECT count(*) AS n FROM session_claims WHERE node = 'b'`)[0].n),
      0,
    );
    b.seen(() => [{ account: "alice", tokenHash: "t2" }, { account: "alice", tokenHash: "t1" }]);
    sb.commit();
    assert.equal(counted(a, sa), 1, "t2 claimed again by b");
    assert.equal(counted(b, sb), 1, "t1 stays a's");

    // Taken as dead by a (silent on the bus): b's claims and row go; alive after all, b's next
    // beat claims its sessions again.
    a.forget("b");
    sa.commit();
    assert.equal(counted(a, sa), 0, "b taken as dead");
    b.seen(() => [{ account: "alice", tokenHash: "t2" }]);
    sb.commit();
    assert.equal(counted(a, sa), 1, "b back with its session");

    // b's claims made anew from what it holds: a claim it no longer holds goes (t9), one it holds
    // and had lost comes back (t3), one another node took over stays that node's (t1).
    b.claim({ account: "alice", tokenHash: "t9" });
    sb.commit();
    b.resync([
      { account: "alice", tokenHash: "t2" },
      { account: "alice", tokenHash: "t3" },
      { account: "alice", tokenHash: "t1" },
    ]);
    sb.commit();
    assert.deepEqual(
      (await sql`SELECT token_hash, node FROM session_claims ORDER BY token_hash`).map((r) =>
        `${r.token_hash}@${r.node}`
      ),
      ["t1@a", "t2@b", "t3@b"],
    );
    b.release("t3");
    sb.commit();

    // A release is sent last, with the commit: until then its turn does not hold the claim's row
    // (a node claiming it for the client moving there never waits for a turn that waits for it).
    b.claim({ account: "alice", tokenHash: "t5" });
    sb.commit();
    b.release("t5");
    b.countElsewhere("bob", "other"); // a read: the turn's other writes go with it, not the release
    const free = await sql.begin((tx) =>
      tx`SELECT token_hash FROM session_claims WHERE token_hash = 't5' FOR UPDATE NOWAIT`
    );
    assert.equal(free.length, 1, "t5's row not held by b's open turn");
    sb.commit();
    assert.equal(counted(a, sa), 1, "t5 released with b's commit");

    a.release("t1");
    b.leave();
    sa.commit();
    sb.commit();
    assert.equal(counted(a, sa), 0);
    assert.equal(counted(b, sb), 0);
    assert.deepEqual(
      (await sql`SELECT node FROM cluster_nodes ORDER BY node`).map((r) => r.node),
      ["a"],
      "a node that stops leaves no row",
    );
  } finally {
    await sql.end();
    sa.close();
    sb.close();
  }
});

Deno.test("PostgreSQL: the throwaway server stops and its folder goes", async () => {
  await pg[Symbol.asyncDispose]();
});
