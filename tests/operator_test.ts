// Integration tests of the operator's controls: the console driven through stdin, `chatz admin`, logs.
// Each console command and each admin command runs against a real server process.

import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../client/connection.ts";
import type { MessageEvent } from "../protocol/mod.ts";
import {
  client,
  exitWithin,
  loginError,
  replyData,
  runCli,
  startServerProcess,
  type TestClient,
  testCurve,
  WAIT_MS,
} from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function admin(dataDir: string, ...args: string[]) {
  return runCli(["admin", "--data", dataDir, ...args]);
}

/** Polls `check` (an admin command, say) until it holds: bounded in count and time. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (let i = 0; i < 100 && Date.now() < deadline; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test("the operator console runs every command from stdin", opts, async (t) => {
  const server = await startServerProcess({ console: true });
  const clients: TestClient[] = [];
  const out = server.stdout;
  const seen = () => out.items.length;
  const after = (from: number, pattern: RegExp, what: string) =>
    out.waitFor((line, index) => index >= from && pattern.test(line), what);
  try {
    const alice = await client(server.endpoint, "alice");
    clients.push(alice);
    replyData(await alice.cmd("group", "create ops"));

    await t.step("help lists the commands", async () => {
      const from = seen();
      await server.type("help");
      await after(from, /clear-identities/, "help output");
    });
    await t.step("status shows endpoint, users and rate", async () => {
      const from = seen();
      await server.type("status");
      await after(from, /^endpoint\s+tcp:\/\/127\.0\.0\.1:\d+ \(listening\)/, "status endpoint");
      await after(from, /^users\s+1 online in 1 session; 1 account$/, "status users");
      await after(from, /\d+ events? queued to sessions since start/, "a running total, said so");
      await after(from, /^messages\s+.*\/s over the last minute/, "status rate");
    });
    await t.step("users and groups", async () => {
      const from = seen();
      await server.type("users");
      await after(from, /alice\s+since .* on \S+ {2}\(chatz\)/, "users line with host");
      await server.type("groups");
      await after(from, /^1 group:$/, "one group, in the singular");
      await after(from, /ops\s+1 member\s+owner alice/, "groups line");
      await after(from, /^1 session:$/, "one session, in the singular");
    });
    await t.step("broadcast reaches everyone as a notice", async () => {
      await server.type("broadcast maintenance at noon");
      const notice = await alice.events.waitFor((e) => e.type === "notice", "the notice");
      assert.equal(notice.type === "notice" && notice.text, "maintenance at noon");
    });
    await t.step("kick ends the user's sessions with a reason", async () => {
      const bob = await client(server.endpoint, "bob");
      const from0 = seen();
      await server.type("kick bob too loud");
      await after(from0, /^Kicked bob \(1 session\)$/, "kick's reply in the singular");
      const bye = await bob.events.waitFor((e) => e.type === "bye", "bob's bye");
      assert.deepEqual(bye.type === "bye" && [bye.code, bye.message], [
        "kicked",
        "Kicked by the operator: too loud",
      ]);
      await bob.conn.close();
      const from = seen();
      await server.type("kick nobody");
      await after(from, /error: Cannot kick "nobody": not online \[user_offline\]/, "kick error");
    });
    await t.step("logs shows the log, filtered by level", async () => {
      const from = seen();
      await server.type("logs 200");
      await after(from, / INFO login login=alice /, "a login line");
      await server.type("logs 5 error");
      await after(from, /^No log lines at level error or worse$|ERROR/, "filtered output");
      await server.type("logs 5 info warn");
      await after(from, /give at most one level \[bad_arguments\]/, "two levels refused");
      await server.type("logs 5 5");
      await after(from, /give at most one count \[bad_arguments\]/, "two counts refused");
    });
    await t.step("clear-logs asks first and records the clearing", async () => {
      const from = seen();
      await server.type("clear-logs");
      await after(from, /Empty the server log\? \[y\/N\]/, "the question");
      await server.type("n");
      await after(from, /^Cancelled$/, "cancelled, not an error");
      await server.type("clear-logs");
      await server.type("yes");
      await after(from, /^Log cleared$/, "cleared");
      const log = readFileSync(join(server.dataDir, "chatz.log"), "utf8");
      assert.doesNotMatch(log, / login login=alice /, "old lines are gone");
      assert.match(log, /WARN log_cleared by=operator/);
    });
    await t.step("clear-identities logs everyone out; logins register again", async () => {
      const from = seen();
      await server.type("clear-users");
      await server.type("y");
      await after(from, /^Deleted 2 accounts/, "identities cleared");
      const bye = await alice.events.waitFor((e) => e.type === "bye", "alice's bye");
      assert.equal(bye.type === "bye" && bye.code, "account_deleted");
      const again = await client(server.endpoint, "alice", "brand new");
      assert.equal(again.conn.session.registered, true);
      clients.push(again);
    });
    await t.step("an unknown command is an error, and the console goes on", async () => {
      const from = seen();
      await server.type("frobnicate");
      await after(from, /no such command; "help" lists them \[unknown_command\]/, "error line");
    });
    await t.step("shutdown tells clients and exits 0", async () => {
      const last = clients[clients.length - 1];
      await server.type("shutdown for upgrade");
      const bye = await last.events.waitFor((e) => e.type === "bye", "shutdown bye");
      assert.deepEqual(bye.type === "bye" && [bye.code, bye.message], [
        "server_shutdown",
        "Server shutting down: for upgrade",
      ]);
      assert.equal((await exitWithin(server.child)).code, 0);
    });
  } finally {
    await Promise.all(clients.map((c) => c.conn.close()));
    await server.stop();
  }
});

Deno.test(
  "chatz admin runs the same commands against a server with no terminal",
  opts,
  async (t) => {
    const server = await startServerProcess();
    const dir = server.dataDir;
    const clients: TestClient[] = [];
    try {
      const alice = await client(server.endpoint, "alice");
      clients.push(alice);

      await t.step("status, users and groups, also as JSON", async () => {
        const status = await admin(dir, "status");
        assert.equal(status.code, 0);
        assert.match(status.stdout, /users\s+1 online/);
        const users = await admin(dir, "--json", "users");
        const reply = JSON.parse(users.stdout);
        assert.equal(reply.ok, true);
        assert.equal(reply.data[0].login, "alice");
        assert.ok(reply.data[0].host.length > 0, "the host the client reported");
        assert.match((await admin(dir, "groups")).stdout, /No groups/);
      });

      await t.step(
        "pause refuses new clients, keeps sessions, and resume lets them in",
        async () => {
          assert.match((await admin(dir, "pause")).stdout, /^Paused/);
          const late = connect({
            server: server.endpoint,
            login: "late",
            password: "pw",
            timeoutMs: WAIT_MS * 2,
            curve: testCurve(server.endpoint),
          });
          await eventually(async () => {
            const s = JSON.parse((await admin(dir, "--json", "status")).stdout);
            return s.data.refusedWhilePaused > 0;
          }, "a refused handshake");
          const during = replyData<{ id: number }>(
            await alice.cmd("say", "still here while paused"),
          );
          assert.ok(during.id > 0, "the existing session goes on");
          assert.match((await admin(dir, "resume")).stdout, /^Listening again/);
          const conn = await late;
          assert.equal(conn.session.login, "late", "got in without being restarted");
          await conn.close({ logout: true });
        },
      );

      await t.step("kick, broadcast, and errors with exit codes", async () => {
        const bob = await client(server.endpoint, "bob");
        assert.equal((await admin(dir, "broadcast", "hello", "all")).code, 0);
        await bob.events.waitFor((e) => e.type === "notice" && e.text === "hello all", "notice");
        assert.equal((await admin(dir, "kick", "bob")).code, 0);
        await bob.events.waitFor((e) => e.type === "bye", "bye");
        await bob.conn.close();
        const missing = await admin(dir, "kick");
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /\[bad_arguments\]/);
      });

      await t.step("logs and clear-logs need --yes", async () => {
        assert.match((await admin(dir, "logs", "100", "info")).stdout, /INFO login login=alice/);
        const refused = await admin(dir, "clear-logs");
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /add --yes/);
        assert.equal((await admin(dir, "--yes", "clear-logs")).code, 0);
        assert.doesNotMatch((await admin(dir, "logs")).stdout, /login=alice/);
      });

      await t.step("clear-identities with --yes", async () => {
        assert.match((await admin(dir, "--yes", "clear-identities")).stdout, /Deleted 3 accounts/);
        await alice.events.waitFor((e) => e.type === "bye", "bye");
        assert.equal(
          await loginError(server.endpoint, "alice", "another"),
          undefined,
          "registers anew",
        );
      });

      await t.step("shutdown, then status says the server is not running", async () => {
        assert.equal((await admin(dir, "shutdown")).code, 0);
        assert.equal((await exitWithin(server.child)).code, 0);
        const after = await admin(dir, "status");
        assert.equal(after.code, 3);
        assert.match(after.stderr, /No chatz server is running with data folder/);
      });
    } finally {
      await Promise.all(clients.map((c) => c.conn.close()));
      await server.stop();
    }
  },
);

Deno.test(
  "the console answers under load and delivery goes on while a command waits",
  opts,
  async () => {
    const server = await startServerProcess({ console: true });
    const sender = await client(server.endpoint, "sender");
    const receiver = await client(server.endpoint, "receiver");
    let load = true;
    let acked = 0;
    const loadDone = (async () => {
      for (let i = 0; i < 200_000 && load; i++) {
        const batch = Array.from({ length: 50 }, () => sender.cmd("msg", "receiver load"));
        acked += (await Promise.all(batch)).filter((r) => r.ok).length;
      }
    })();
    try {
      await receiver.events.waitFor((e) => e.type === "message", "load reaching the receiver");
      const from = server.stdout.items.length;
      await server.type("status");
      await server.stdout.waitFor(
        (l) => server.stdout.items.indexOf(l) >= from && /^users\s+2 online/.test(l),
        "status under load",
      );

      // clear-logs now waits for an answer; messages must keep flowing meanwhile.
      await server.type("clear-logs");
      await server.stdout.waitFor((l) => /Empty the server log\?/.test(l), "the question");
      const before = acked;
      const probe = replyData<{ id: number }>(await sender.cmd("msg", "receiver probe"));
      await receiver.events.waitFor(
        (e) => e.type === "message" && (e as MessageEvent).id === probe.id,
        "probe delivered",
      );
      assert.ok(acked > before || probe.id > 0);
      await server.type("n");
    } finally {
      load = false;
      await loadDone;
      await sender.close();
      await receiver.close();
      await server.stop();
    }
  },
);

Deno.test(
  "the log rotates at its size cap, reopens on SIGHUP, and never holds texts or passwords",
  opts,
  async () => {
    const server = await startServerProcess({ args: ["--log-max-bytes", "2000"] });
    const logPath = join(server.dataDir, "chatz.log");
    try {
      for (let i = 0; i < 8; i++) {
        const c = await client(server.endpoint, `user${i}`, "hunter2-secret");
        await c.cmd("say", "the-secret-text");
        await c.close();
      }
      await eventually(() => Promise.resolve(existsSync(`${logPath}.1`)), "a rotated log file");
      const all = [logPath, `${logPath}.1`].map((p) => readFileSync(p, "utf8")).join("");
      assert.doesNotMatch(all, /hunter2-secret|the-secret-text/);

      renameSync(logPath, `${logPath}.moved`);
      server.child.kill("SIGHUP");
      await eventually(
        () =>
          Promise.resolve(
            existsSync(logPath) && /log_reopened/.test(readFileSync(logPath, "utf8")),
          ),
        "the reopened log",
      );
    } finally {
      await server.stop();
    }
  },
);

Deno.test("a shutdown loses no acknowledged message", opts, async () => {
  let server = await startServerProcess();
  const dataDir = server.dataDir;
  try {
    const alice = await client(server.endpoint, "alice");
    const pending = Array.from({ length: 500 }, (_, i) => alice.cmd("say", `before shutdown ${i}`));
    const stopping = admin(dataDir, "shutdown");
    const acked = (await Promise.all(pending)).filter((r) => r.ok).map((r) =>
      replyData<{ id: number }>(r).id
    );
    assert.equal((await stopping).code, 0);
    assert.equal((await exitWithin(server.child)).code, 0);
    await alice.conn.close();

    server = await startServerProcess({ dataDir });
    const reader = await client(server.endpoint, "alice");
    const stored = new Set(
      replyData<{ messages: MessageEvent[] }>(await reader.cmd("history", "public 500")).messages
        .map((
          m,
        ) => m.id),
    );
    assert.ok(acked.length > 0);
    assert.deepEqual(
      acked.filter((id) => !stored.has(id)),
      [],
      "every acknowledged message is stored",
    );
    await reader.close();
  } finally {
    await server.stop();
  }
});

Deno.test(
  "a second server on the same data folder is refused, even while the first is stopped",
  opts,
  async () => {
    const server = await startServerProcess();
    try {
      await assert.rejects(
        startServerProcess({ dataDir: server.dataDir }),
        /already running with data folder/,
      );
      // A server too busy to answer (here: stopped) still holds its data folder.
      server.child.kill("SIGSTOP");
      await assert.rejects(
        startServerProcess({ dataDir: server.dataDir }),
        /already running with data folder/,
      );
    } finally {
      server.child.kill("SIGCONT");
      await server.stop();
    }
  },
);
