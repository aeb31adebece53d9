// End-to-end test of `chatz migrate`: a real embedded server's data folder copied into a real,
// throwaway PostgreSQL by the real CLI, then read back through both stores and compared.

import assert from "node:assert/strict";
import { client, replyData, runCli, startServerProcess } from "./harness.ts";
import { startPostgres } from "./services.ts";
import { openSqliteStore } from "../server/serving/store/sqlite.ts";
import { openPostgresStore } from "../server/serving/store/postgres.ts";
import type { Store } from "../server/serving/store/store.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Everything a user can read back, from one store: the same for both sides of a migration. */
function contents(store: Store) {
  const groups = store.loadGroups();
  const convs = [
    "p",
    "d:alice:bob",
    "d:carol:dave",
    ...groups.map((g) => `g:${g.key}:${g.created}`),
  ];
  const seen = {
    accounts: store.listAccounts().map((a) => ({ ...a, password: store.account(a.key)?.password })),
    groups,
    history: convs.map((conv) => store.history(conv, Number.MAX_SAFE_INTEGER, 100)),
    missedByDave: store.missed(0, { key: "dave", groupConvs: [] }, 100),
    undeliveredForDave: store.takeUndelivered("dave"),
    lastMessageId: store.lastMessageId,
    messageCount: store.messageCount(),
  };
  store.rollback(); // takeUndelivered's delete stays uncommitted
  return seen;
}

Deno.test(
  "chatz migrate copies an embedded data folder into PostgreSQL, verified by counts",
  opts,
  async (t) => {
    await using pg = await startPostgres();
    const url = await pg.createDatabase("migrated");
    const server = await startServerProcess();
    const dataDir = server.dataDir;
    try {
      await t.step("people chat on the embedded server", async () => {
        const alice = await client(server.endpoint, "alice");
        const bob = await client(server.endpoint, "bob");
        const carol = await client(server.endpoint, "carol");
        const dave = await client(server.endpoint, "dave");
        await dave.close();
        replyData(await alice.cmd("say", "hello room"));
        replyData(await alice.cmd("msg", "bob hi bob"));
        replyData(await alice.cmd("group", "create ops"));
        replyData(await bob.cmd("group", "join ops"));
        replyData(await bob.cmd("g", "ops deploy at noon"));
        replyData(await carol.cmd("msg", "dave while you were out")); // kept for dave
        for (const c of [alice, bob, carol]) await c.close();
      });

      await t.step("a running server's folder is refused", async () => {
        const run = await runCli(["migrate", "--from", dataDir, "--to", url]);
        assert.equal(run.code, 1);
        assert.match(
          run.stderr,
          /Cannot migrate ".*": a chatz server is running on it; stop it first/,
        );
      });

      await server.stop();

      await t.step("the copy reports matching counts", async () => {
        const run = await runCli(["migrate", "--from", dataDir, "--to", url]);
        assert.equal(run.code, 0, run.stderr);
        const counts = new Map(
          run.stdout.split("\n").map((line) => line.trim().split(/\s+/))
            .filter((words) => words.length === 3 && /^\d+$/.test(words[1])).map((
              [name, a, b],
            ) => [name, [Number(a), Number(b)]]),
        );
        assert.deepEqual(counts.get("accounts"), [4, 4]);
        assert.deepEqual(counts.get("groups"), [1, 1]);
        assert.deepEqual(counts.get("members"), [2, 2]);
        assert.deepEqual(counts.get("undelivered"), [1, 1]);
        assert.deepEqual(counts.get("messages"), [4, 4]);
        assert.match(run.stdout, /Every count matches/);
      });

      await t.step(
        "both stores read back the same accounts, groups, history and queued messages",
        () => {
          const embedded = openSqliteStore(dataDir);
          const cluster = openPostgresStore(url);
          try {
            const before = contents(embedded);
            assert.equal(before.messageCount, 4);
            assert.equal(before.undeliveredForDave.length, 1);
            assert.deepEqual(contents(cluster), before);
            const next = cluster.addMessage({
              ts: Date.now(),
              conv: "p",
              scope: "public",
              from: "alice",
              action: false,
              text: "first in the cluster",
            });
            cluster.rollback();
            assert.equal(next.id, before.lastMessageId + 1, "ids continue after the embedded ones");
          } finally {
            embedded.close();
            cluster.close();
          }
        },
      );

      await t.step(
        "a second copy into the same database is refused and changes nothing",
        async () => {
          const run = await runCli(["migrate", "--from", dataDir, "--to", url]);
          assert.equal(run.code, 1);
          assert.match(
            run.stderr,
            /Cannot migrate into postgres:\/\/.*: it already holds chatz data \(4 accounts, \d+ history pages?, 1 group\)/,
          );
          const cluster = openPostgresStore(url);
          try {
            assert.equal(cluster.messageCount(), 4);
          } finally {
            cluster.close();
          }
        },
      );

      await t.step(
        "a folder without chatz data and a URL that is not PostgreSQL are refused",
        async () => {
          const empty = await Deno.makeTempDir({ prefix: "chatz-empty-" });
          try {
            const none = await runCli(["migrate", "--from", empty, "--to", url]);
            assert.equal(none.code, 1);
            assert.match(none.stderr, /no chatz data there/);
          } finally {
            await Deno.remove(empty, { recursive: true });
          }
          const notPg = await runCli(["migrate", "--from", dataDir, "--to", "mysql://x"]);
          assert.equal(notPg.code, 1);
          assert.match(notPg.stderr, /not a postgres:\/\/ or postgresql:\/\/ URL/);
        },
      );
    } finally {
      await server.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
);
