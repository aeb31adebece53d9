// End-to-end tests of running a closed server for a team: accounts, invitations, bans, roles,
// deleted logins and group moderation, all through the real `chatz serve`, `chatz admin` and clients.

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { connect } from "../client/connection.ts";
import type { MessageEvent } from "../protocol/mod.ts";
import { rawPeer, request } from "./raw_peer.ts";
import {
  client,
  loginError,
  replyCode,
  replyData,
  runCli,
  type ServerProcess,
  startServerProcess,
  type TestClient,
  testCurve,
  WAIT_MS,
} from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function admin(server: ServerProcess, args: string[], stdin?: string) {
  return runCli(["admin", "--data", server.dataDir, ...args], { stdin });
}

/** Runs an admin command that must succeed; returns its output. */
async function ok(server: ServerProcess, args: string[], stdin?: string): Promise<string> {
  const result = await admin(server, args, stdin);
  assert.equal(result.code, 0, `chatz admin ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function closedServer(): Promise<ServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "chatz-config-" });
  const config = join(dir, "chatz.toml");
  await Deno.writeTextFile(config, 'registration = "closed"\n');
  return await startServerProcess({ args: ["--config", config] });
}

Deno.test(
  "an operator manages the accounts of a closed server with chatz admin",
  opts,
  async (t) => {
    const server = await closedServer();
    const clients: TestClient[] = [];
    try {
      await t.step("user add takes the password from stdin; nobody registers alone", async () => {
        assert.equal(await loginError(server.endpoint, "alice", "pw-alice"), "wrong_password");
        assert.match(await ok(server, ["user", "add", "alice"], "pw-alice\n"), /^Added alice$/m);
        assert.match(await ok(server, ["user", "add", "bob"], "pw-bob\n"), /^Added bob$/m);
        const again = await admin(server, ["user", "add", "bob"], "x\n");
        assert.equal(again.code, 1);
        assert.match(again.stderr, /Cannot add user "bob": the account exists \[user_exists\]/);
        const file = join(server.dataDir, "carol.pw");
        await Deno.writeTextFile(file, "pw-carol\n");
        await ok(server, ["user", "add", "carol", "--password-file", file]);
        clients.push(await client(server.endpoint, "carol", "pw-carol"));
      });

      const alice = await client(server.endpoint, "alice", "pw-alice");
      const bob = await client(server.endpoint, "bob", "pw-bob");
      clients.push(alice, bob);
      replyData(await bob.cmd("group", "create ops"));
      replyData(await alice.cmd("group", "join ops"));
      replyData(await bob.cmd("say", "bob was here"));
      replyData(await bob.cmd("msg", "alice a private word"));

      await t.step("user list and user show tell sessions, groups and last seen", async () => {
        const list = await ok(server, ["user", "list"]);
        assert.match(list, /^3 accounts:$/m);
        assert.match(list, /^ {2}bob\s+user\s+created .* 1 session {2}groups: ops$/m);
        assert.match(await ok(server, ["user", "list", "a*"]), /^1 account:\n {2}alice /m);
        const show = await ok(server, ["user", "show", "bob"]);
        assert.match(show, /^groups\s+ops \(owns ops\)$/m);
        assert.match(show, /^last seen\s+\d{4}-/m);
        const json = JSON.parse(await ok(server, ["--json", "user", "show", "alice"]));
        assert.equal(json.data.sessions, 1);
      });

      await t.step("user passwd ends the sessions and the old password stops working", async () => {
        assert.match(
          await ok(server, ["user", "passwd", "alice"], "new-alice\n"),
          /1 session ended/,
        );
        const bye = await alice.events.waitFor((e) => e.type === "bye", "alice's bye");
        assert.equal(bye.type === "bye" && bye.code, "kicked");
        assert.equal(await loginError(server.endpoint, "alice", "pw-alice"), "wrong_password");
        clients.push(await client(server.endpoint, "alice", "new-alice"));
      });

      await t.step(
        "user del hands groups over, removes private history, reserves the login",
        async () => {
          const refused = await admin(server, ["user", "del", "bob"]);
          assert.equal(refused.code, 1, "asks for --yes first");
          const out = await ok(server, ["--yes", "user", "del", "bob"]);
          assert.match(out, /^Deleted bob \(1 session ended\); the login is reserved until /m);
          assert.match(out, /^ {2}group ops now owned by alice$/m);
          const bye = await bob.events.waitFor((e) => e.type === "bye", "bob's bye");
          assert.equal(bye.type === "bye" && bye.code, "account_deleted");
          // Closed registration: as for any unknown login (the reservation is tested below).
          assert.equal(await loginError(server.endpoint, "bob", "pw-bob"), "wrong_password");
          const reserved = await admin(server, ["user", "add", "bob"], "pw-new-bob\n");
          assert.match(
            reserved.stderr,
            /the login of a deleted account, reserved until .*\[name_reserved\]/,
          );
          const alice2 = clients.at(-1)!;
          assert.equal(replyCode(await alice2.cmd("history", "bob")), "no_such_user");
        },
      );
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await server.stop();
    }
  },
);

Deno.test("an invitation code lets one newcomer register through chatz connect", opts, async () => {
  const server = await closedServer();
  try {
    const out = await ok(server, ["invite", "create", "--uses", "1", "--expires", "1h"]);
    const code = /Invitation code: ([0-9a-f]+)/.exec(out)![1];
    assert.match(await ok(server, ["invites"]), /^ {2}[0-9a-f]{8} {2}1 use left/m);
    const connectArgs = (login: string, invite: string) => [
      "connect",
      "--login",
      login,
      "--server",
      server.endpoint,
      "--invite",
      invite,
      "--json",
    ];
    const joined = await runCli(connectArgs("newbie", code), {
      stdin: "/list\n",
      env: { CHATZ_PASSWORD: "pw-newbie" },
    });
    assert.equal(joined.code, 0, joined.stderr);
    const used = await runCli(connectArgs("second", code), {
      stdin: "",
      env: { CHATZ_PASSWORD: "pw-second" },
    });
    assert.equal(used.code, 1);
    assert.match(used.stderr, /the invitation code is unknown, used up or expired/);
    assert.equal(await loginError(server.endpoint, "newbie", "pw-newbie"), undefined);
    assert.match(await ok(server, ["invites"]), /^No invitations$/m);
  } finally {
    await server.stop();
  }
});

Deno.test(
  "bans on a login and on an address range are refused, listed and lifted",
  opts,
  async (t) => {
    const server = await closedServer();
    try {
      await ok(server, ["user", "add", "mallory"], "pw-m\n");
      await ok(server, ["user", "add", "alice"], "pw-a\n");
      const mallory = await client(server.endpoint, "mallory", "pw-m");

      await t.step("a banned login's sessions end and its logins are refused", async () => {
        assert.match(
          await ok(server, ["ban", "mallory", "1h", "flooding"]),
          /^Banned mallory until .*; 1 session ended$/m,
        );
        const bye = await mallory.events.waitFor((e) => e.type === "bye", "mallory's bye");
        assert.equal(bye.type === "bye" && bye.code, "banned");
        await mallory.conn.close();
        assert.equal(await loginError(server.endpoint, "mallory", "pw-m"), "banned");
        assert.match(
          await ok(server, ["user", "show", "mallory"]),
          /^banned\s+until .*: flooding$/m,
        );
      });

      await t.step("a banned address range is refused at the handshake", async () => {
        // Open before the ban, from inside the range: shut down by it.
        const open = rawPeer(server.endpoint, { source: "127.0.0.3", watchDisconnects: true });
        try {
          assert.equal((await request(open, { op: "ping" })).ok, true);
          assert.match(
            await ok(server, ["ban", "127.0.0.0/8", "1h"]),
            /^Banned address range 127\.0\.0\.0\/8 until .*; [1-9]\d* open connections? closed$/m,
          );
          await open.disconnects.waitFor(() => true, "the open connection closed by the ban");
        } finally {
          await open.close();
        }
        const bans = await ok(server, ["bans"]);
        assert.match(bans, /^ {2}mallory\s+until .* by operator: flooding$/m);
        assert.match(bans, /^ {2}127\.0\.0\.0\/8 \(address\)\s+until /m);
        server.log.clear();
        await assert.rejects(
          connect({
            server: server.endpoint,
            login: "alice",
            password: "pw-a",
            timeoutMs: 1500,
            curve: testCurve(server.endpoint),
          }),
        );
        await server.log.waitFor(
          (l) =>
            / connect_refused address=127\.0\.0\.1 reason=banned range=127\.0\.0\.0\/8/.test(l),
          "the refused handshake in the log",
        );
      });

      await t.step(
        "unban lets both in again, and the bans survive a restart until then",
        async () => {
          const restarted = await restart(server);
          try {
            assert.match(await ok(restarted, ["bans"]), /^2 bans:/m);
            await ok(restarted, ["unban", "127.0.0.0/8"]);
            await ok(restarted, ["unban", "mallory"]);
            assert.match(await ok(restarted, ["bans"]), /^No bans$/m);
            assert.equal(await loginError(restarted.endpoint, "mallory", "pw-m"), undefined);
          } finally {
            await restarted.stop();
          }
        },
      );
    } finally {
      await server.stop();
    }
  },
);

/** Stops a server and starts another on its data folder. */
async function restart(server: ServerProcess): Promise<ServerProcess> {
  await server.stop();
  return await startServerProcess({ dataDir: server.dataDir, args: ["--registration", "closed"] });
}

Deno.test("operators moderate from their chat client; others may not", opts, async () => {
  const server = await startServerProcess();
  const clients: TestClient[] = [];
  try {
    const alice = await client(server.endpoint, "alice");
    const bob = await client(server.endpoint, "bob");
    clients.push(alice, bob);
    assert.equal(replyCode(await bob.cmd("kick", "alice")), "forbidden");
    await ok(server, ["user", "role", "alice", "operator"]);
    replyData(await alice.cmd("wall", "maintenance soon"));
    const notice = await bob.events.waitFor((e) => e.type === "notice", "the wall notice");
    assert.equal(notice.type === "notice" && notice.text, "alice: maintenance soon");
    replyData(await alice.cmd("kick", "bob behave"));
    const bye = await bob.events.waitFor((e) => e.type === "bye", "bob's bye");
    assert.equal(bye.type === "bye" && bye.message, "Kicked by alice: behave");
    replyData(await alice.cmd("ban", "bob 30m spam"));
    assert.equal(await loginError(server.endpoint, "bob", "pw-bob"), "banned");
    replyData(await alice.cmd("unban", "bob"));
    assert.equal(await loginError(server.endpoint, "bob", "pw-bob"), undefined);
    const log = await ok(server, ["logs", "200"]);
    assert.match(log, / WARN moderator_kick login=bob by=alice sessions=1/);
    assert.match(log, / WARN ban kind=login target=bob by=alice /);
    assert.match(log, / WARN unban kind=login target=bob by=alice/);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await server.stop();
  }
});

Deno.test(
  "group owners ban, set a topic and invite; a kick is not undone by rejoining",
  opts,
  async () => {
    const server = await startServerProcess();
    const clients: TestClient[] = [];
    try {
      const [owner, mallory, carol, dave] = await Promise.all(
        ["owner", "mallory", "carol", "dave"].map((login) => client(server.endpoint, login)),
      );
      clients.push(owner, mallory, carol, dave);
      replyData(await owner.cmd("group", "create ops"));
      replyData(await owner.cmd("group", "topic ops deploys and incidents"));
      const joined = await mallory.cmd("group", "join ops");
      assert.equal(
        joined.ok && joined.text,
        "Joined group ops (2 members); topic: deploys and incidents",
      );
      const list = await carol.cmd("group", "list");
      assert.match(
        list.ok ? list.text ?? "" : "",
        /ops \(2 members, owner owner\): deploys and incidents/,
      );

      replyData(await owner.cmd("group", "kick ops mallory"));
      assert.equal(replyCode(await mallory.cmd("group", "join ops")), "banned");
      replyData(await owner.cmd("group", "unban ops mallory"));
      replyData(await mallory.cmd("group", "join ops"));
      replyData(await owner.cmd("group", "ban ops mallory"));
      await mallory.events.waitFor(
        (e) => e.type === "group" && e.action === "ban" && e.login === "mallory",
        "mallory told of the ban",
      );
      assert.equal(replyCode(await mallory.cmd("g", "ops still here?")), "not_member");
      assert.equal(replyCode(await mallory.cmd("group", "join ops")), "banned");

      const invited = await owner.cmd("group", "invite ops carol");
      assert.equal(invited.ok && invited.text, "Invited carol to ops; ops is now invite-only");
      await carol.events.waitFor(
        (e) => e.type === "notice" && e.text.includes("invited you to group ops"),
        "carol's invitation",
      );
      assert.equal(replyCode(await dave.cmd("group", "join ops")), "invite_only");
      replyData(await carol.cmd("group", "join ops"));
      replyData(await owner.cmd("group", "open ops"));
      replyData(await dave.cmd("group", "join ops"));
      assert.equal(replyCode(await carol.cmd("group", "topic ops mine now")), "forbidden");
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await server.stop();
    }
  },
);

Deno.test(
  "a new holder of a deleted login is never shown as the author of old messages",
  opts,
  async () => {
    const server = await startServerProcess({ args: ["--deleted-login-days", "0"] });
    const clients: TestClient[] = [];
    try {
      const bob = await client(server.endpoint, "bob");
      replyData(await bob.cmd("say", "the first bob wrote this"));
      await bob.close();
      await ok(server, ["--yes", "user", "del", "bob"]);
      const newBob = await client(server.endpoint, "bob", "another password");
      clients.push(newBob);
      assert.equal(newBob.conn.session.registered, true);
      replyData(await newBob.cmd("say", "the second bob wrote this"));
      const page = replyData<{ messages: MessageEvent[] }>(await newBob.cmd("history", "public"));
      const byText = Object.fromEntries(page.messages.map((m) => [m.text, m.fromDeleted === true]));
      assert.deepEqual(byText, {
        "the first bob wrote this": true,
        "the second bob wrote this": false,
      });
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await server.stop();
    }
  },
);

Deno.test(
  "the operator console adds and deletes an account, asking for the password",
  opts,
  async () => {
    const server = await startServerProcess({ console: true });
    try {
      const out = server.stdout;
      await server.type("user add carol");
      await out.waitFor(
        (l) => l.includes("Password for the new account:"),
        "the password question",
      );
      await server.type("pw-carol");
      await out.waitFor((l) => l === "Added carol", "the account added");
      assert.equal(await loginError(server.endpoint, "carol", "pw-carol"), undefined);
      await server.type("user del carol");
      await out.waitFor((l) => l.includes("Delete this account"), "the confirmation question");
      await server.type("y");
      await out.waitFor(
        (l) => /^Deleted carol \(0 sessions ended\)/.test(l),
        "the account deleted",
      );
      assert.ok(!out.items.some((l) => l.includes("pw-carol")), "the password is never echoed");
    } finally {
      await server.stop();
    }
  },
);

Deno.test(
  "SIGHUP reads the bans from the store again, as after another node banned",
  opts,
  async () => {
    const server = await startServerProcess();
    try {
      assert.equal(await loginError(server.endpoint, "alice", "pw-alice"), undefined);
      // Another node of a cluster writes the shared store; here a second connection plays it.
      const db = new DatabaseSync(join(server.dataDir, "chatz.db"));
      try {
        db.exec("PRAGMA busy_timeout = 5000");
        db.prepare(
          "INSERT INTO bans (kind, target, reason, by, created, expires) VALUES (?,?,?,?,?,?)",
        ).run("login", "alice", "from another node", "bob", Date.now(), null);
      } finally {
        db.close();
      }
      assert.equal(await loginError(server.endpoint, "alice", "pw-alice"), undefined, "not yet");
      server.log.clear();
      server.child.kill("SIGHUP");
      await server.log.waitFor((l) => / INFO bans_reloaded bans=1/.test(l), "the bans read again");
      assert.equal(await loginError(server.endpoint, "alice", "pw-alice"), "banned");
    } finally {
      await server.stop();
    }
  },
);

Deno.test(
  "a login with register: false learns the account is new before anything is created",
  opts,
  async () => {
    const server = await startServerProcess();
    try {
      const attempt = (register: boolean) =>
        connect({
          server: server.endpoint,
          login: "newcomer",
          password: "pw-new",
          register,
          timeoutMs: WAIT_MS,
          curve: testCurve(server.endpoint),
        });
      await assert.rejects(attempt(false), (error: Error & { code?: string }) => {
        assert.equal(error.code, "new_account");
        assert.match(error.message, /no such account; confirm to register it/);
        return true;
      });
      assert.match(await ok(server, ["user", "list"]), /^No accounts$/m, "nothing was created");
      const confirmed = await attempt(true);
      assert.equal(confirmed.session.registered, true);
      await confirmed.close({ logout: true });
      const again = await attempt(false);
      assert.equal(again.session.registered, false, "an existing account logs in as usual");
      await again.close({ logout: true });
    } finally {
      await server.stop();
    }
  },
);
