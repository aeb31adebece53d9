// Integration tests of chatting: a real `chatz serve` process and real ZeroMQ clients on loopback.
// Covers logins, direct messages, the public room, groups, presence, errors and concurrency.

import assert from "node:assert/strict";
import type { MessageEvent } from "../protocol/mod.ts";
import {
  client,
  loginError,
  replyCode,
  replyData,
  startServerProcess,
  type TestClient,
} from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "chatz serve relays direct, public and group messages between real clients",
  opts,
  async (t) => {
    const server = await startServerProcess();
    const clients: TestClient[] = [];
    try {
      const alice = await client(server.endpoint, "alice");
      const bob = await client(server.endpoint, "bob");
      let carol = await client(server.endpoint, "carol");
      clients.push(alice, bob, carol);

      await t.step("a login already registered needs its password", async () => {
        assert.equal(
          await loginError(server.endpoint, "alice", "not-her-password"),
          "wrong_password",
        );
        assert.equal(await loginError(server.endpoint, "bad name!", "pw"), "invalid_name");
        assert.equal(await loginError(server.endpoint, "Public", "pw"), "invalid_name");
        assert.equal(await loginError(server.endpoint, "dave", ""), "bad_password");
      });

      await t.step("contacts see each other come online; others do not", async () => {
        replyData(await alice.cmd("msg", "carol hi")); // now alice and carol are contacts
        await carol.close();
        clients.splice(clients.indexOf(carol), 1);
        carol = await client(server.endpoint, "carol");
        clients.push(carol);
        await alice.events.waitFor(
          (e) => e.type === "presence" && e.login === "carol" && e.state === "online",
          "carol online",
        );
        // Bob's reply to a later command comes after anything the server sent him at carol's login.
        replyData(await bob.cmd("list"));
        assert.ok(!bob.events.items.some((e) => e.type === "presence" && e.login === "carol"));
      });

      await t.step("/msg reaches only the recipient", async () => {
        const sent = replyData<{ id: number }>(await alice.cmd("msg", "bob hello there"));
        const got = await bob.events.waitFor(
          (e) => e.type === "message" && e.id === sent.id,
          "bob's DM",
        ) as MessageEvent;
        assert.equal(got.scope, "direct");
        assert.equal(got.from, "alice");
        assert.equal(got.to, "bob");
        assert.equal(got.text, "hello there");
        assert.ok(!carol.events.items.some((e) => e.type === "message" && e.id === sent.id));
      });

      await t.step("/msg to an unknown login is an error with a code", async () => {
        assert.equal(replyCode(await alice.cmd("msg", "nobody hi")), "no_such_user");
        assert.equal(replyCode(await alice.cmd("msg", "bob")), "bad_arguments");
        assert.equal(replyCode(await alice.cmd("msg", "b@d hi")), "invalid_name");
      });

      await t.step("a plain line reaches everyone else in the public room", async () => {
        const sent = replyData<{ id: number }>(await bob.cmd("say", "hi all"));
        for (const other of [alice, carol]) {
          const got = await other.events.waitFor(
            (e) => e.type === "message" && e.id === sent.id,
            "public message",
          ) as MessageEvent;
          assert.equal(got.scope, "public");
          assert.equal(got.from, "bob");
        }
        assert.ok(
          !bob.events.items.some((e) => e.type === "message" && e.id === sent.id),
          "no echo to the sending session",
        );
      });

      await t.step("groups: create, join, talk, members, list, leave", async () => {
        replyData(await alice.cmd("group", "create ops"));
        assert.equal(replyCode(await bob.cmd("group", "create OPS")), "group_exists");
        replyData(await bob.cmd("group", "join ops"));
        await alice.events.waitFor(
          (e) => e.type === "group" && e.action === "join" && e.login === "bob",
          "join notice",
        );
        assert.equal(replyCode(await bob.cmd("group", "join ops")), "already_member");

        const sent = replyData<{ id: number }>(await bob.cmd("g", "ops deploy done"));
        const got = await alice.events.waitFor(
          (e) => e.type === "message" && e.id === sent.id,
          "group message",
        ) as MessageEvent;
        assert.equal(got.scope, "group");
        assert.equal(got.group, "ops");
        assert.equal(replyCode(await carol.cmd("g", "ops let me in")), "not_member");
        assert.ok(!carol.events.items.some((e) => e.type === "message" && e.id === sent.id));

        const members = replyData<{ members: string[] }>(await carol.cmd("group", "members ops"));
        assert.deepEqual(members.members, ["alice", "bob"]);
        const list = replyData<{ groups: { name: string; members: number; member: boolean }[] }>(
          await carol.cmd("group", "list"),
        );
        assert.deepEqual(list.groups.map((g) => [g.name, g.members, g.member]), [[
          "ops",
          2,
          false,
        ]]);

        replyData(await bob.cmd("group", "leave ops"));
        await alice.events.waitFor(
          (e) => e.type === "group" && e.action === "leave" && e.login === "bob",
          "leave notice",
        );
        assert.equal(replyCode(await bob.cmd("group", "leave ops")), "not_member");
        const missing = await bob.cmd("group", "join nothere");
        assert.equal(replyCode(missing), "no_such_group");
        assert.equal(
          !missing.ok && missing.message,
          'Cannot join group "nothere": no such group; /group create nothere makes it',
        );
        assert.equal(replyCode(await bob.cmd("group", "frobnicate ops")), "unknown_command");
      });

      await t.step("/list shows who is online and which groups exist", async () => {
        const data = replyData<{ users: { login: string }[]; groups: { name: string }[] }>(
          await carol.cmd("list"),
        );
        assert.deepEqual(data.users.map((u) => u.login), ["alice", "bob", "carol"]);
        assert.deepEqual(data.groups.map((g) => g.name), ["ops"]);
      });

      await t.step("contacts see others go offline", async () => {
        await carol.close();
        clients.splice(clients.indexOf(carol), 1);
        await alice.events.waitFor(
          (e) => e.type === "presence" && e.login === "carol" && e.state === "offline",
          "carol offline",
        );
      });

      await t.step("commands before login and unknown commands get coded errors", async () => {
        assert.equal(replyCode(await alice.cmd("frobnicate")), "unknown_command");
        assert.equal(
          replyCode(await alice.conn.request({ op: "login", login: "alice", password: "x" })),
          "already_logged_in",
        );
      });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      const status = await server.stop();
      assert.equal(status.code, 0, "graceful exit on SIGTERM");
    }
  },
);

Deno.test("chatz serve tells clients when it shuts down", opts, async () => {
  const server = await startServerProcess();
  const alice = await client(server.endpoint, "alice");
  try {
    const stopped = server.stop("SIGINT");
    const bye = await alice.events.waitFor((e) => e.type === "bye", "the bye event");
    assert.equal(bye.type === "bye" && bye.code, "server_shutdown");
    assert.equal((await stopped).code, 0);
  } finally {
    await alice.conn.close();
  }
});

Deno.test("chatz serve serves 50 clients at once", opts, async () => {
  const server = await startServerProcess();
  const clients: TestClient[] = [];
  try {
    const logins = Array.from({ length: 50 }, (_, i) => `user${i}`);
    clients.push(...await Promise.all(logins.map((l) => client(server.endpoint, l))));
    const replies = await Promise.all(clients.map((c, i) => c.cmd("say", `hello from ${i}`)));
    const ids = replies.map((r) => replyData<{ id: number }>(r).id);
    // Every client receives the 49 messages of the others.
    await Promise.all(
      clients.map((c, i) =>
        Promise.all(
          ids.filter((_, j) => j !== i).map((id) =>
            c.events.waitFor(
              (e) => e.type === "message" && e.id === id,
              `message ${id} at client ${i}`,
            )
          ),
        )
      ),
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  }
});
