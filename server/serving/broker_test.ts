// Tests of the broker: its reply encoders (which must mean exactly what JSON.stringify writes), and
// logins and queued requests driven through a fake peer over a real store and the built-in plugins.

import { BanList } from "./bans.ts";
import { createLoginAccess } from "./login_access.ts";
import assert from "node:assert/strict";
import type { CommandResult } from "../../protocol/plugin.ts";
import { createBroker, encodeLoginReply, firstMissed } from "./broker.ts";
import { BUILTIN_PLUGINS } from "../../plugins/mod.ts";
import { PROTOCOL_VERSION } from "../../protocol/mod.ts";
import { createLogger } from "../log.ts";
import { assembleServing } from "./assemble.ts";
import { setupPlugins } from "./plugin_loader.ts";
import { RateLimiter } from "./rate_limit.ts";
import { ADDRESS_POLICY, LoginThrottle } from "./throttle.ts";
import { openSqliteStore } from "./store/sqlite.ts";
import { encodeReply } from "./reply.ts";
import type { LoginData } from "../../protocol/mod.ts";

Deno.test("encodeReply() writes exactly what JSON.stringify writes for the reply", async (t) => {
  const cases: [string, CommandResult][] = [
    ["ok, nothing else", { ok: true }],
    ["ok with data", { ok: true, data: { id: 3, ts: 5, queued: true } }],
    ["ok with text and data", { ok: true, text: 'say "hi"\n', data: [1, "two"] }],
    ["error", { ok: false, code: "no_such_user", message: 'Cannot send to "x": no such user' }],
  ];
  for (const [name, result] of cases) {
    await t.step(name, () => {
      const expected = result.ok
        ? { re: 9, ok: true, text: result.text, data: result.data }
        : { re: 9, ok: false, code: result.code, message: result.message };
      assert.equal(encodeReply(9, result), JSON.stringify(expected));
    });
  }
});

Deno.test("encodeLoginReply() parses to the reply with the whole login data", () => {
  const catalog = [{
    name: "msg",
    aliases: ["m"],
    summary: 'Send "private" text',
    usage: "/msg <login> <text...>",
    params: [],
    examples: [],
    plugin: "direct",
  }];
  const data: LoginData = {
    login: "Alice",
    registered: false,
    token: "t0k",
    catalog,
    server: { name: "chatz", version: "1.2.3", protocol: "chatz/1" },
    pingIntervalMs: 5000,
    cursor: 42,
    catchup: { count: 0, complete: true },
  };
  const { catalog: _, ...rest } = data;
  const encoded = encodeLoginReply(7, "Logged in as Alice", rest, JSON.stringify(catalog));
  assert.deepEqual(JSON.parse(encoded), {
    re: 7,
    ok: true,
    text: "Logged in as Alice",
    data,
  });
});

Deno.test("firstMissed() finds the lowest live message id of a lost frame, in any key order", async (t) => {
  await t.step("key order does not matter", () => {
    assert.equal(firstMissed(JSON.stringify([{ id: 7, ts: 1, type: "message" }])), 7);
  });
  await t.step("history replays are left out, catch-up and live messages count", () => {
    const body = JSON.stringify([
      { re: 3, ok: true },
      { type: "message", id: 2, history: true },
      { type: "message", id: 12, catchup: true },
      { type: "message", id: 15 },
    ]);
    assert.equal(firstMissed(body), 12);
  });
  await t.step("a frame without chat messages has none", () => {
    assert.equal(firstMissed(JSON.stringify([{ type: "presence", login: "bob" }])), undefined);
    assert.equal(
      firstMissed(JSON.stringify([{ type: "message", id: 1, history: true }])),
      undefined,
    );
    assert.equal(firstMissed("not json"), undefined);
  });
});

/** A broker over a real store and the built-in plugins, driven through a fake peer. */
async function brokerBench(
  options: {
    registration?: "open" | "closed";
    /** The broker's clock (default Date.now): a frozen one makes every wait last. */
    now?: () => number;
    /** As an encrypted server's gate answers: the address of a CURVE client key. */
    clientAddress?: (key: string) => string | undefined;
    /** Default 4. */
    maxSessionsPerAccount?: number;
  } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "chatz_broker_test_" });
  const store = openSqliteStore(dir);
  const log = createLogger("error", () => {});
  const core = assembleServing(store, {
    log,
    now: Date.now,
    maxGroupsPerUser: 10,
    maxWaitingPerAccount: 10_000,
  });
  await setupPlugins(BUILTIN_PLUGINS.map((plugin) => ({ source: "builtin", plugin })), {
    registry: core.registry,
    hooks: core.hooks,
    log,
    chat: core.chat,
    store,
  });
  let flushes = 0;
  const broker = createBroker({
    ...core,
    store,
    log,
    registration: options.registration ?? "open",
    version: "test",
    now: options.now ?? Date.now,
    ...(options.clientAddress ? { clientAddress: options.clientAddress } : {}),
    requestFlush: () => flushes++,
    commandLimit: new RateLimiter({ burst: 1000, perSecond: 1000 }),
    addressThrottle: new LoginThrottle(ADDRESS_POLICY),
    registrationLimit: new RateLimiter({ burst: 1, perSecond: 0 }),
    sessionTimeoutMs: 15_000,
    maxSessionsPerAccount: options.maxSessionsPerAccount ?? 4,
    access: createLoginAccess({
      bans: new BanList(),
      deletedLogins: core.deletedLogins,
      store,
      now: Date.now,
    }),
  });
  /** What the broker queued for each peer since the last call, as parsed messages. */
  const sent = () => {
    const out = new Map<string, Record<string, unknown>[]>();
    core.outbox.drain((to, [, body]) => {
      out.set(to.id, [...(out.get(to.id) ?? []), ...JSON.parse(body)]);
    });
    return out;
  };
  /** A fake connection: sends request objects as one frame (a JSON array), as a client does. */
  const peer = (id: string) => {
    const to = { id, peer: new TextEncoder().encode(id) };
    return {
      to,
      send: (...requests: object[]) =>
        broker.handle(to, [
          new TextEncoder().encode(PROTOCOL_VERSION),
          new TextEncoder().encode(JSON.stringify(requests)),
        ], true),
    };
  };
  /** Waits, bounded, until `done()` holds: logins hash passwords off the event loop. */
  const until = async (done: () => boolean, what: string) => {
    for (let i = 0; i < 2000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
    if (!done()) throw new Error(`Timed out waiting for ${what}`);
  };
  return {
    broker,
    core,
    sent,
    peer,
    until,
    flushes: () => flushes,
    async close() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("broker answers a login, then the requests queued behind it, in order", async () => {
  const bench = await brokerBench();
  try {
    const alice = bench.peer("alice-conn");
    const held = alice.send(
      { op: "login", id: 1, login: "alice", password: "secret" },
      { op: "cmd", id: 2, cmd: "say", args: "first" },
      { op: "ping", id: 3 },
    );
    assert.equal(held, 3);
    assert.deepEqual(
      bench.sent().get(alice.to.id),
      undefined,
      "nothing before the login is checked",
    );
    await bench.until(() => bench.flushes() > 0, "the login to finish");
    const replies = bench.sent().get(alice.to.id) ?? [];
    assert.deepEqual(replies.map((r) => [r.re, r.ok]), [[1, true], [2, true], [3, true]]);
    assert.equal((replies[0].data as { login: string }).login, "alice");
    assert.equal(bench.core.sessions.of("alice").length, 1);
  } finally {
    await bench.close();
  }
});

Deno.test("broker refuses a wrong password and drops requests queued behind a cancelled login", async (t) => {
  const bench = await brokerBench();
  try {
    const first = bench.peer("c1");
    first.send({ op: "login", id: 1, login: "bob", password: "right" });
    await bench.until(() => bench.flushes() >= 1, "bob's registration");
    bench.sent();

    await t.step("a wrong password is refused and counted against its connection", async () => {
      const second = bench.peer("c2");
      second.send({ op: "login", id: 1, login: "bob", password: "wrong" });
      await bench.until(() => bench.flushes() >= 2, "the refusal");
      const [reply] = bench.sent().get("c2") ?? [];
      assert.deepEqual([reply.re, reply.ok, reply.code], [1, false, "wrong_password"]);
      // Three failures are free: with the broker's one counted, a fourth imposes a wait.
      const throttle = bench.core.throttle;
      for (let i = 0; i < 2; i++) throttle.fail("peer:c2", Date.now());
      assert.equal(throttle.waitFor("peer:c2", Date.now()), 0, "three failures so far");
      throttle.fail("peer:c2", Date.now());
      assert.ok(throttle.waitFor("peer:c2", Date.now()) > 0, "the refused login was counted");
      assert.equal(throttle.waitFor("bob", Date.now()), 0, "nothing was counted against the login");
      throttle.succeed("bob");
    });

    await t.step("a connection that ends during its login gets nothing more", async () => {
      const third = bench.peer("c3");
      third.send(
        { op: "login", id: 1, login: "bob", password: "right" },
        { op: "ping", id: 2 },
      );
      bench.broker.connectionChanged(third.to);
      await bench.until(() => bench.flushes() >= 3, "the login to finish");
      assert.deepEqual(bench.sent().get("c3"), undefined, "no reply, no queued ping answered");
      assert.equal(bench.core.sessions.get("c3"), undefined, "no session bound to a gone peer");
    });
  } finally {
    await bench.close();
  }
});

Deno.test("broker refuses every request of an unverified peer", async () => {
  const bench = await brokerBench();
  try {
    const to = { id: "chosen", peer: new TextEncoder().encode("chosen") };
    const body = JSON.stringify([{ op: "ping", id: 7 }, { op: "login", id: 8, login: "x" }]);
    const frames = [PROTOCOL_VERSION, body].map((s) => new TextEncoder().encode(s));
    assert.equal(bench.broker.handle(to, frames, false), 2);
    const replies = bench.sent().get("chosen") ?? [];
    assert.deepEqual(replies.map((r) => [r.re, r.code]), [
      [7, "routing_id_refused"],
      [8, "routing_id_refused"],
    ]);
  } finally {
    await bench.close();
  }
});

Deno.test("broker keeps replies a full queue refused, and ends a session that piles up too many", async () => {
  const bench = await brokerBench();
  try {
    const carol = bench.peer("carol-conn");
    carol.send({ op: "login", id: 1, login: "carol", password: "secret" });
    await bench.until(() => bench.core.sessions.get("carol-conn") !== undefined, "carol's login");
    bench.sent();
    const session = bench.core.sessions.get("carol-conn")!;
    const lost = JSON.stringify([{ type: "presence", login: "x", state: "online" }, {
      re: 7,
      ok: true,
    }]);
    bench.broker.sendFailed(carol.to, "full", lost);
    assert.deepEqual(session.pendingReplies?.parts, ['{"re":7,"ok":true}'], "the reply is kept");
    assert.ok(session.lagging?.active, "and the session lags, to be offered a catch-up");
    bench.core.chat.retryLagging(0); // the catch-up offer a second later
    const offered = bench.sent().get("carol-conn") ?? [];
    assert.ok(offered.some((m) => m.re === 7), "the kept reply goes out with the offer");
    assert.equal(session.pendingReplies, undefined);
    const huge = JSON.stringify([{ re: 8, ok: true, text: "x".repeat(1024 * 1024) }]);
    bench.broker.sendFailed(carol.to, "full", huge);
    assert.equal(bench.core.sessions.get("carol-conn"), undefined, "past 1 Mi characters it ends");
  } finally {
    await bench.close();
  }
});

/** Two CURVE public keys (Z85) the address tests' fake gate knows, and one it does not. */
const KEY_A = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const KEY_B = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const KEY_UNSEEN = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

Deno.test("broker: failures make the guesser's address wait, never the owner elsewhere", async (t) => {
  const frozen = Date.now();
  const addresses = new Map([[KEY_A, "10.0.0.1"], [KEY_B, "10.0.0.2"]]);
  const bench = await brokerBench({ now: () => frozen, clientAddress: (k) => addresses.get(k) });
  const replies = new Map<string, Record<string, unknown>>();
  let peers = 0;
  /** Logs in on a fresh connection and waits for the reply. */
  const login = async (fields: Record<string, unknown>) => {
    const id = `p${peers++}`;
    bench.peer(id).send({ op: "login", id: 1, login: "alice", ...fields });
    await bench.until(() => {
      for (const [to, list] of bench.sent()) replies.set(to, list[0]);
      return replies.has(id);
    }, `the reply to ${id}`);
    return replies.get(id)!;
  };
  try {
    const made = await login({ password: "right", key: KEY_B });
    assert.equal(made.ok, true, JSON.stringify(made));
    const token = (made.data as { token: string }).token;
    await t.step("at the guesser's address the right password waits too", async () => {
      for (let i = 0; i < 4; i++) {
        assert.equal((await login({ password: `wrong-${i}`, key: KEY_A })).code, "wrong_password");
      }
      const refused = await login({ password: "right", key: KEY_A });
      assert.equal(refused.code, "login_throttled");
      assert.match(String(refused.message), /from this address; retry in 1 s/);
    });
    await t.step("a valid token passes the wait; the owner's address never waited", async () => {
      assert.equal((await login({ token: "bogus", key: KEY_A })).code, "login_throttled");
      assert.equal((await login({ token, key: KEY_A })).ok, true);
      assert.equal((await login({ password: "right", key: KEY_B })).ok, true);
    });
    await t.step("a login without a key, or with one the gate never saw, is refused", async () => {
      assert.equal((await login({ password: "right" })).code, "bad_request");
      assert.equal((await login({ password: "right", key: KEY_UNSEEN })).code, "unknown_key");
    });
  } finally {
    await bench.close();
  }
});

Deno.test("broker refuses a session past the limit, counting in the singular", async () => {
  const bench = await brokerBench({ maxSessionsPerAccount: 1 });
  try {
    bench.peer("first").send({ op: "login", id: 1, login: "alice", password: "secret" });
    await bench.until(() => bench.core.sessions.of("alice").length === 1, "the first session");
    const second = bench.peer("second");
    second.send({ op: "login", id: 1, login: "alice", password: "secret" });
    const replies: Record<string, unknown>[] = [];
    await bench.until(() => {
      replies.push(...bench.sent().get(second.to.id) ?? []);
      return replies.length > 0;
    }, "a reply");
    assert.equal(replies[0].code, "limit_reached");
    assert.equal(
      replies[0].message,
      'Cannot log in as "alice": it has 1 session, the most allowed',
    );
  } finally {
    await bench.close();
  }
});

Deno.test("a logout after /passwd revokes the token the password change gave", async () => {
  const bench = await brokerBench();
  try {
    const first = bench.peer("first");
    const replies: Record<string, unknown>[] = [];
    const until = (re: number) =>
      bench.until(() => {
        replies.push(...bench.sent().get(first.to.id) ?? []);
        return replies.some((r) => r.re === re);
      }, `the reply to ${re}`);
    first.send({ op: "login", id: 1, login: "alice", password: "secret" });
    await until(1);
    first.send({ op: "cmd", id: 2, cmd: "passwd", args: "secret changed" });
    await until(2);
    const changed = replies.find((r) => r.re === 2)!;
    assert.equal(changed.ok, true, JSON.stringify(changed));
    const token = (changed.data as { token: string }).token;
    first.send({ op: "logout", id: 3 });
    await until(3);

    const again = bench.peer("again");
    const answers: Record<string, unknown>[] = [];
    again.send({ op: "login", id: 1, login: "alice", token });
    await bench.until(() => {
      answers.push(...bench.sent().get(again.to.id) ?? []);
      return answers.length > 0;
    }, "the token login's reply");
    assert.equal(answers[0].ok, false, "the logged-out session's token no longer logs in");
  } finally {
    await bench.close();
  }
});
