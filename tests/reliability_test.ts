// Fault tests: a server killed under traffic, a client paused past the liveness timeout, a reader
// that stops reading, floods, and connection churn. Messages must arrive once each, in order.

import assert from "node:assert/strict";
import { connect, type Connection } from "../client/connection.ts";
import type { MessageEvent, Reply, ServerEvent } from "../protocol/mod.ts";
import {
  client,
  type CliProcess,
  loginError,
  makeContact,
  RECONNECT_WAIT_MS,
  Recorder,
  replyData,
  rssKiB,
  type ServerProcess,
  spawnCli,
  startServerProcess,
  type TestClient,
  testCurve,
  WAIT_MS,
  within,
} from "./harness.ts";
import { stablePort } from "./ports.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A client that reconnects and resumes by itself, with its events recorded. */
async function resilient(endpoint: string, login: string) {
  const events = new Recorder<ServerEvent>();
  const status = new Recorder<string>();
  const conn: Connection = await connect({
    server: endpoint,
    login,
    password: `pw-${login}`,
    timeoutMs: WAIT_MS,
    curve: testCurve(endpoint),
    reconnect: true,
    onEvent: (e) => events.push(e),
    onStatus: (s) => status.push(s.state),
  });
  return { conn, events, status };
}

/** The `{id}` of a successful send. */
function ok(reply: Reply): { id: number } {
  return replyData<{ id: number }>(reply);
}

function messagesFrom(events: ServerEvent[], from: string): MessageEvent[] {
  return events.filter((e): e is MessageEvent => e.type === "message" && e.from === from);
}

Deno.test("a server killed under traffic loses, repeats and reorders nothing", opts, async () => {
  const port = stablePort(2); // the key endpoint takes port + 1
  const bind = ["--bind", `tcp://127.0.0.1:${port}`];
  let server = await startServerProcess({ args: bind });
  const dataDir = server.dataDir;
  const alice = await resilient(server.endpoint, "alice");
  const bob = await resilient(server.endpoint, "bob");
  const total = 400;
  try {
    const sends: Promise<Reply>[] = [];
    let acked = 0;
    const acks = new Recorder<number>();
    for (let i = 0; i < total; i++) {
      sends.push(
        alice.conn.command("msg", `bob message ${i}`).then((r) => (acks.push(++acked), r)),
      );
      if (i === 150) {
        // Some sends are committed but unacknowledged, some in flight, some not yet sent.
        await acks.waitFor((n) => n >= 100, "100 acknowledged sends");
        await server.stop("SIGKILL");
        server = await startServerProcess({ dataDir, args: bind });
      }
      if (i % 25 === 24) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const replies = await within(Promise.all(sends), "every send's reply", RECONNECT_WAIT_MS);
    const ids = replies.map((r) => ok(r).id);
    assert.equal(new Set(ids).size, total, "each send has its own id: duplicates were dropped");
    await alice.status.waitFor((s) => s === "online", "alice back online", RECONNECT_WAIT_MS);

    const last = Math.max(...ids);
    await bob.events.waitFor(
      (e) => e.type === "message" && e.id === last,
      "the last message at bob",
    );
    const got = messagesFrom(bob.events.items, "alice").map((m) => [m.id, m.text]);
    const sent = ids.map((id, i) => [id, `message ${i}`]).sort((a, b) =>
      Number(a[0]) - Number(b[0])
    );
    assert.deepEqual(got, sent, "each message once, in id order");
    const stored = ok(await bob.conn.command("history", "alice 500")) as unknown as {
      messages: MessageEvent[];
    };
    assert.equal(stored.messages.length, total, "the store holds each message once");
  } finally {
    await alice.conn.close();
    await bob.conn.close();
    await server.stop();
  }
});

/** Starts `chatz connect --json` as bob, a contact of alice, and returns it once alice sees it online. */
async function bobOnline(server: ServerProcess, alice: TestClient): Promise<CliProcess> {
  await makeContact(server.endpoint, alice, "bob");
  const bob = spawnCli(
    ["connect", "--login", "bob", "--server", server.endpoint, "--json"],
    { CHATZ_PASSWORD: "pw-bob" },
  );
  try {
    await alice.events.waitFor((e) => e.type === "presence" && e.login === "bob", "bob online");
    return bob;
  } catch (error) {
    await bob.end();
    throw error;
  }
}

Deno.test("a client paused past the liveness timeout catches up once, in order", opts, async () => {
  const server = await startServerProcess({ args: ["--session-timeout", "1500"] });
  const alice = await client(server.endpoint, "alice");
  const bob = await bobOnline(server, alice);
  try {
    bob.signal("SIGSTOP");
    const live: number[] = [];
    for (let i = 0; i < 5; i++) live.push(ok(await alice.cmd("msg", `bob before timeout ${i}`)).id);
    await alice.events.waitFor(
      (e) => e.type === "presence" && e.login === "bob" && e.state === "offline",
      "the server ending bob's silent session",
    );
    const missed: number[] = [];
    for (let i = 0; i < 5; i++) missed.push(ok(await alice.cmd("msg", `bob while gone ${i}`)).id);
    bob.signal("SIGCONT");

    const json = (line: string) => (line.startsWith("{") ? JSON.parse(line) : {});
    await bob.stdout.waitFor((l) => json(l).id === missed[4], "the last missed message");
    const messages = bob.stdout.items.map(json).filter((e) => e.type === "message");
    assert.deepEqual(messages.map((m) => m.id), [...live, ...missed], "each once, in order");
    for (const m of messages.filter((m) => missed.includes(m.id))) {
      assert.equal(m.catchup ?? m.delayed, true, `message ${m.id} is marked as caught up`);
    }
    const said = bob.stdout.items.findIndex((l) => /Reconnected/.test(l));
    const first = bob.stdout.items.findIndex((l) => json(l).id === missed[0]);
    assert.ok(said >= 0 && said < first, "the client said it reconnected before the catch-up");
  } finally {
    bob.signal("SIGCONT");
    await bob.end();
    await alice.close();
    await server.stop();
  }
});

Deno.test("a reader that stops reading is cut off without slowing the others", opts, async () => {
  const server = await startServerProcess({ args: ["--peer-queue", "10", "--lag-limit", "2000"] });
  const alice = await client(server.endpoint, "alice");
  const carol = await client(server.endpoint, "carol");
  const bob = await bobOnline(server, alice);
  try {
    bob.signal("SIGSTOP");
    const text = "x".repeat(3900);
    let lastId = 0;
    for (let batch = 0; batch < 80; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, () => alice.cmd("say", text)),
      );
      lastId = ok(replies[replies.length - 1]).id;
    }
    await carol.events.waitFor((e) => e.type === "message" && e.id === lastId, "carol gets all");
    assert.equal(messagesFrom(carol.events.items, "alice").length, 4000);
    await server.log.waitFor((l) => /WARN session_lagging login=bob/.test(l), "bob marked lagging");
    await server.log.waitFor(
      (l) => /INFO logout login=bob .*reason=too_slow/.test(l),
      "bob cut off after the lag limit",
    );
    // The bye went into bob's full queue and was dropped; his next ping's reply repeats it.
    bob.signal("SIGCONT");
    await bob.stdout.waitFor(
      (l) => /Connection lost \(Session ended: it read nothing for 2 s\)/.test(l),
      "bob told why his session ended",
      30_000,
    );
  } finally {
    bob.signal("SIGCONT");
    await bob.end();
    await alice.close();
    await carol.close();
    await server.stop();
  }
});

Deno.test("flood and session limits answer with their codes", opts, async (t) => {
  const server = await startServerProcess({
    args: ["--rate", "10", "--burst", "20", "--max-sessions", "2"],
  });
  const clients: TestClient[] = [];
  try {
    const alice = await client(server.endpoint, "alice");
    const bob = await client(server.endpoint, "bob");
    clients.push(alice, bob);
    await t.step("a burst past the allowance gets rate_limited", async () => {
      const replies = await Promise.all(
        Array.from({ length: 60 }, (_, i) => alice.cmd("say", `${i}`)),
      );
      const limited = replies.filter((r) => !r.ok && r.code === "rate_limited");
      assert.ok(limited.length >= 35 && limited.length <= 40, `${limited.length} limited`);
      assert.match(limited[0].ok ? "" : limited[0].message, /too many commands; retry in \d/);
    });
    await t.step("other accounts are not affected", async () => {
      assert.ok((await bob.cmd("say", "still fine")).ok);
    });
    await t.step("a third session of one account is refused", async () => {
      clients.push(await client(server.endpoint, "alice"));
      assert.equal(await loginError(server.endpoint, "alice", "pw-alice"), "limit_reached");
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  }
});

Deno.test("1000 clients connecting and leaving leave no memory behind", opts, async () => {
  const server = await startServerProcess();
  const logins = Array.from({ length: 50 }, (_, i) => `churn${i}`);
  try {
    // Register once; the churn logs in by token, as reconnecting clients do (leaving without a
    // logout, which would revoke the token).
    const tokens = new Map<string, string>();
    for (const login of logins) {
      const c = await client(server.endpoint, login);
      tokens.set(login, c.conn.session.token);
      await c.conn.close({ logout: false });
    }
    const wave = async () => {
      const conns = await Promise.all(
        logins.map((login) =>
          connect({
            server: server.endpoint,
            login,
            token: tokens.get(login),
            timeoutMs: WAIT_MS,
            curve: testCurve(server.endpoint),
          })
        ),
      );
      await Promise.all(conns.map((c) => c.command("say", "hello and bye")));
      await Promise.all(conns.map((c) => c.close({ logout: false })));
    };
    for (let i = 0; i < 4; i++) await wave(); // warm-up: the heap grows to its working size
    const before = await rssKiB(server.child.pid);
    for (let i = 0; i < 20; i++) await wave();
    const after = await rssKiB(server.child.pid);
    // 1000 sessions came and went; a leak of even 32 KiB each would show as 31 MiB.
    assert.ok(after - before < 24 * 1024, `memory grew ${after - before} KiB`);
    const status = await client(server.endpoint, "observer");
    const list = ok(await status.cmd("list")) as unknown as { users: unknown[] };
    assert.equal(list.users.length, 1, "only the observer is online");
    await status.close();
  } finally {
    await server.stop();
  }
});
