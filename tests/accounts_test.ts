// Integration tests of accounts, persistence and history against real `chatz serve` processes.
// Restarts reuse the data folder; the durability test kills the server with SIGKILL right after acks.

import assert from "node:assert/strict";
import { connect } from "../client/connection.ts";
import type { LoginData, MessageEvent } from "../protocol/mod.ts";
import { BUILTIN_PLUGINS } from "../plugins/mod.ts";
import { createLogger } from "../server/log.ts";
import { DEFAULT_LIMITS, startServer } from "../server/serving/serve.ts";
import {
  client,
  loginError,
  replyCode,
  replyData,
  startServerProcess,
  type TestClient,
  testCurve,
} from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("accounts, groups and history survive a restart", opts, async () => {
  let server = await startServerProcess();
  const dataDir = server.dataDir;
  try {
    const alice = await client(server.endpoint, "Alice", "s3cret pass");
    const bob = await client(server.endpoint, "bob");
    replyData(await alice.cmd("group", "create ops"));
    replyData(await bob.cmd("group", "join ops"));
    const said = replyData<{ id: number }>(await alice.cmd("g", "ops remember this"));
    const dm = replyData<{ id: number }>(await alice.cmd("msg", "bob and this"));
    await alice.close();
    await bob.close();
    assert.equal((await server.stop()).code, 0);

    server = await startServerProcess({ dataDir });
    assert.equal(await loginError(server.endpoint, "alice", "wrong"), "wrong_password");
    const again = await client(server.endpoint, "ALICE", "s3cret pass");
    assert.equal(again.conn.session.login, "Alice", "the registered spelling is kept");
    const groups = replyData<
      { groups: { name: string; member: boolean; owner: string; members: number }[] }
    >(
      await again.cmd("group", "list"),
    );
    assert.deepEqual(groups.groups.map((g) => [g.name, g.member, g.owner, g.members]), [[
      "ops",
      true,
      "Alice",
      2,
    ]]);
    const history = replyData<{ messages: MessageEvent[] }>(await again.cmd("history", "#ops"));
    assert.deepEqual(history.messages.map((m) => [m.id, m.text, m.history]), [[
      said.id,
      "remember this",
      true,
    ]]);
    const direct = replyData<{ messages: MessageEvent[] }>(await again.cmd("history", "bob"));
    assert.deepEqual(direct.messages.map((m) => m.id), [dm.id]);
    await again.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a direct message to an offline user waits for their next login", opts, async () => {
  const server = await startServerProcess();
  try {
    const bob = await client(server.endpoint, "bob");
    await bob.close();
    const alice = await client(server.endpoint, "alice");
    const sent = replyData<{ id: number; ts: number; queued?: boolean }>(
      await alice.cmd("msg", "bob see you later"),
    );
    assert.equal(sent.queued, true);
    const back = await client(server.endpoint, "bob");
    const got = await back.events.waitFor(
      (e) => e.type === "message" && e.id === sent.id,
      "the delayed message",
    ) as MessageEvent;
    assert.equal(got.delayed, true);
    assert.equal(got.ts, sent.ts, "the original time");
    const reconnect = await client(server.endpoint, "bob");
    const other = reconnect.events.items.filter((e) => e.type === "message" && e.id === sent.id);
    assert.equal(other.length, 0, "delivered once");
    await Promise.all([alice.close(), back.close(), reconnect.close()]);
  } finally {
    await server.stop();
  }
});

Deno.test(
  "direct messages past --offline-limit are refused mailbox_full to the sender, never dropped",
  opts,
  async () => {
    const server = await startServerProcess({ args: ["--offline-limit", "5"] });
    try {
      const bob = await client(server.endpoint, "bob");
      await bob.close();
      const alice = await client(server.endpoint, "alice");
      const carol = await client(server.endpoint, "carol");
      const ids: number[] = [];
      for (let i = 1; i <= 5; i++) {
        const sent = replyData<{ id: number; queued?: boolean }>(
          await alice.cmd("msg", `bob ${i}`),
        );
        assert.equal(sent.queued, true);
        ids.push(sent.id);
      }
      const refused = await alice.cmd("msg", "bob 6");
      assert.equal(replyCode(refused), "mailbox_full");
      assert.ok(!refused.ok);
      assert.equal(refused.message, 'Cannot send to "bob": 5 messages already wait for them');
      assert.equal(
        replyCode(await carol.cmd("msg", "bob from carol")),
        "mailbox_full",
        "any sender",
      );
      replyData(await carol.cmd("say", "the public room is not a mailbox"));

      const back = await client(server.endpoint, "bob");
      for (const id of ids) {
        await back.events.waitFor(
          (e) => e.type === "message" && e.id === id,
          `waiting message ${id}`,
        );
      }
      const delivered = back.events.items.filter((e) => e.type === "message" && e.to === "bob");
      assert.deepEqual(delivered.map((e) => (e as MessageEvent).text), ["1", "2", "3", "4", "5"]);
      await back.close();
      // Delivered, they no longer wait: five more may.
      const after = replyData<{ queued?: boolean }>(await alice.cmd("msg", "bob 7"));
      assert.equal(after.queued, true);
      await Promise.all([alice.close(), carol.close()]);
    } finally {
      await server.stop();
    }
  },
);

Deno.test(
  "a login takes at most 500 waiting messages, says so, and the next login takes the rest",
  opts,
  async () => {
    const server = await startServerProcess({ args: ["--offline-limit", "600"] });
    try {
      const bob = await client(server.endpoint, "bob");
      await bob.close();
      const alice = await client(server.endpoint, "alice");
      // At once, as a script would: more than one frame holds (the client splits them).
      const sends = await Promise.all(
        Array.from({ length: 601 }, (_, i) => alice.cmd("msg", `bob waiting ${i}`)),
      );
      assert.deepEqual(sends.slice(0, 600).filter((r) => !r.ok), [], "600 may wait");
      assert.equal(replyCode(sends[600]), "mailbox_full");
      await alice.close();

      const first = await client(server.endpoint, "bob");
      const notice = await first.events.waitFor(
        (e) =>
          e.type === "notice" && /^500 direct messages that came while you were away/.test(e.text),
        "the notice that more wait",
      );
      assert.ok(notice);
      const delayed = (c: TestClient) =>
        c.events.items.filter((e): e is MessageEvent => e.type === "message" && e.delayed === true);
      assert.equal(delayed(first).length, 500, "the notice comes after the 500");
      assert.equal(delayed(first)[0].text, "waiting 0", "oldest first");
      await first.close();
      const second = await client(server.endpoint, "bob");
      await second.events.waitFor(
        (e) => e.type === "message" && e.text === "waiting 599",
        "the last waiting message",
      );
      assert.equal(delayed(second).length, 100);
      assert.equal(delayed(second)[0].text, "waiting 500");
      await second.close();
    } finally {
      await server.stop();
    }
  },
);

Deno.test("one account online from two terminals receives on both", opts, async () => {
  const server = await startServerProcess();
  const clients: TestClient[] = [];
  try {
    const one = await client(server.endpoint, "bob");
    const two = await client(server.endpoint, "bob");
    const alice = await client(server.endpoint, "alice");
    clients.push(one, two, alice);
    const sent = replyData<{ id: number }>(await alice.cmd("msg", "bob hi both"));
    await one.events.waitFor((e) => e.type === "message" && e.id === sent.id, "first session");
    await two.events.waitFor((e) => e.type === "message" && e.id === sent.id, "second session");
    const mine = replyData<{ id: number }>(await one.cmd("msg", "alice hi from one"));
    await two.events.waitFor(
      (e) => e.type === "message" && e.id === mine.id,
      "own message on the other session",
    );
    const users =
      replyData<{ users: { login: string; sessions: number }[] }>(await alice.cmd("list")).users;
    assert.deepEqual(users.find((u) => u.login === "bob")?.sessions, 2);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  }
});

Deno.test("closed registration refuses new logins and keeps old ones", opts, async () => {
  let server = await startServerProcess();
  const dataDir = server.dataDir;
  try {
    await (await client(server.endpoint, "alice")).close();
    await server.stop();
    server = await startServerProcess({ dataDir, args: ["--registration", "closed"] });
    // The same answer as a wrong password: which logins exist stays unknown.
    assert.equal(await loginError(server.endpoint, "newcomer", "pw"), "wrong_password");
    assert.equal(await loginError(server.endpoint, "alice", "wrong"), "wrong_password");
    assert.equal(await loginError(server.endpoint, "alice", "pw-alice"), undefined);
  } finally {
    await server.stop();
  }
});

Deno.test("passwords: /passwd, throttling and session tokens", opts, async (t) => {
  const server = await startServerProcess();
  try {
    await t.step("/passwd checks the current password and replaces it", async () => {
      const alice = await client(server.endpoint, "alice", "old");
      assert.equal(replyCode(await alice.cmd("passwd", "wrong new")), "wrong_password");
      assert.ok((await alice.cmd("passwd", "old new")).ok);
      await alice.close();
      assert.equal(await loginError(server.endpoint, "alice", "old"), "wrong_password");
      assert.equal(await loginError(server.endpoint, "alice", "new"), undefined);
    });
    await t.step("failures slow down where they come from, never the account", async () => {
      await (await client(server.endpoint, "carol", "right")).close();
      // loginError dials afresh each time: a stranger's guesses from new connections, all from
      // 127.0.0.1. Past 3 free ones the login waits at that address (docs/PROTOCOL.md 3.3).
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push(await loginError(server.endpoint, "carol", "wrong"));
      assert.deepEqual(codes.slice(0, 4), Array(4).fill("wrong_password"));
      // The owner, at another address (127.0.0.2 is this machine too), gets in at once.
      const owner = await connect({
        server: server.endpoint.replace("tcp://", "tcp://127.0.0.2:0;"),
        login: "carol",
        password: "right",
        timeoutMs: 5000,
        curve: testCurve(server.endpoint),
      });
      await owner.close({ logout: true });
    });
    await t.step("a session token logs in without the password", async () => {
      const first = await client(server.endpoint, "dave", "pw");
      const token = (first.conn.session as LoginData).token;
      await first.conn.close({ logout: false }); // a logout would revoke the token (next step)
      const resumed = await connect({
        server: server.endpoint,
        login: "dave",
        token,
        timeoutMs: 5000,
        curve: testCurve(server.endpoint),
      });
      assert.equal(resumed.session.login, "dave");
      await resumed.close({ logout: true });
      // The logout revoked the token: a copy of it logs in no more.
      await assert.rejects(
        connect({
          server: server.endpoint,
          login: "dave",
          token,
          timeoutMs: 5000,
          curve: testCurve(server.endpoint),
        }),
        /token/,
      );
      await assert.rejects(
        connect({
          server: server.endpoint,
          login: "dave",
          token: "forged",
          timeoutMs: 5000,
          curve: testCurve(server.endpoint),
        }),
        /token/,
      );
    });
  } finally {
    await server.stop();
  }
});

Deno.test("history: paging, permissions and absurd requests", opts, async (t) => {
  const server = await startServerProcess();
  const clients: TestClient[] = [];
  try {
    const alice = await client(server.endpoint, "alice");
    const eve = await client(server.endpoint, "eve");
    clients.push(alice, eve);
    const ids: number[] = [];
    for (let i = 0; i < 120; i++) {
      ids.push(replyData<{ id: number }>(await alice.cmd("say", `line ${i}`)).id);
    }

    await t.step("pages go back with the before cursor", async () => {
      const first = replyData<{ messages: MessageEvent[]; before?: number }>(
        await eve.cmd("history", "public 50"),
      );
      assert.deepEqual(first.messages.map((m) => m.id), ids.slice(70));
      const second = replyData<{ messages: MessageEvent[]; before?: number }>(
        await eve.cmd("history", `public 50 ${first.before}`),
      );
      assert.deepEqual(second.messages.map((m) => m.id), ids.slice(20, 70));
      const third = replyData<{ messages: MessageEvent[]; before?: number }>(
        await eve.cmd("history", `public 50 ${second.before}`),
      );
      assert.deepEqual(third.messages.map((m) => m.id), ids.slice(0, 20));
      assert.equal(third.before, undefined, "no page before the first");
      assert.equal(
        replyData<{ messages: MessageEvent[] }>(await eve.cmd("history", "10")).messages.length,
        10,
      );
    });
    await t.step("outsiders cannot read a group's history", async () => {
      replyData(await alice.cmd("group", "create secret"));
      replyData(await alice.cmd("g", "secret the plan"));
      assert.equal(replyCode(await eve.cmd("history", "#secret")), "not_member");
      assert.equal(replyCode(await eve.cmd("history", "#nosuch")), "no_such_group");
      assert.equal(replyCode(await eve.cmd("history", "nobody")), "no_such_user");
    });
    await t.step("absurd counts are refused", async () => {
      assert.equal(replyCode(await eve.cmd("history", "public 100000")), "bad_arguments");
      assert.equal(replyCode(await eve.cmd("history", "public -5")), "bad_arguments");
      assert.equal(replyCode(await eve.cmd("history", "public 10 x")), "bad_arguments");
    });
    await t.step("joining a group shows its recent messages as history", async () => {
      replyData(await alice.cmd("group", "create open"));
      const said = replyData<{ id: number }>(await alice.cmd("g", "open welcome"));
      replyData(await eve.cmd("group", "join open"));
      const got = await eve.events.waitFor(
        (e) => e.type === "message" && e.id === said.id,
        "group history",
      ) as MessageEvent;
      assert.equal(got.history, true);
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  }
});

Deno.test("every acknowledged message survives kill -9 of the server", opts, async () => {
  let server = await startServerProcess();
  const dataDir = server.dataDir;
  try {
    const alice = await client(server.endpoint, "alice");
    const sends = Array.from({ length: 300 }, (_, i) => alice.cmd("say", `durable ${i}`));
    const acked = (await Promise.all(sends)).map((r) => replyData<{ id: number }>(r).id);
    const status = await server.stop("SIGKILL");
    assert.equal(status.signal, "SIGKILL");
    await alice.conn.close();

    server = await startServerProcess({ dataDir });
    const reader = await client(server.endpoint, "alice");
    const stored = replyData<{ messages: MessageEvent[] }>(
      await reader.cmd("history", "public 500"),
    )
      .messages.map((m) => m.id);
    assert.deepEqual(stored, acked);
    await reader.close();
  } finally {
    await server.stop();
  }
});

Deno.test(
  "clearing the identity store logs everyone out and forgets accounts and groups",
  opts,
  async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "chatz-test-" });
    const server = await startServer({
      bind: "tcp://127.0.0.1:*",
      dataDir,
      builtins: BUILTIN_PLUGINS.map((plugin) => ({ source: "builtin", plugin })),
      registration: "open",
      sync: "normal",
      retention: {},
      version: "test",
      log: createLogger("error", () => {}),
      limits: DEFAULT_LIMITS,
    });
    try {
      const alice = await client(server.endpoint, "alice");
      replyData(await alice.cmd("group", "create ops"));
      replyData(await alice.cmd("say", "kept in history"));
      assert.equal(server.clearIdentities(), 1);
      const bye = await alice.events.waitFor((e) => e.type === "bye", "the bye");
      assert.equal(bye.type === "bye" && bye.code, "account_deleted");
      assert.equal(replyCode(await alice.cmd("list")), "not_logged_in");
      await alice.conn.close();
      assert.equal(
        await loginError(server.endpoint, "alice", "a new password"),
        undefined,
        "registers again",
      );
      const fresh = await client(server.endpoint, "alice", "a new password");
      assert.equal(fresh.conn.session.registered, false);
      assert.deepEqual(
        replyData<{ groups: unknown[] }>(await fresh.cmd("group", "list")).groups,
        [],
      );
      assert.equal(
        replyData<{ messages: unknown[] }>(await fresh.cmd("history")).messages.length,
        1,
      );
      await fresh.close();
    } finally {
      await server.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
);
