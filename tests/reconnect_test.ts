// Reconnect tests with a resilient client: restarts, shutdowns and password changes keep the session
// whole: nothing lost or repeated, own messages never replayed as missed, no login into a stopping server.

import assert from "node:assert/strict";
import { connect, type Connection, type ConnectionStatus } from "../client/connection.ts";
import type { MessageEvent, ServerEvent } from "../protocol/mod.ts";
import {
  chainedSteps,
  client,
  exitWithin,
  RECONNECT_WAIT_MS,
  Recorder,
  replyData,
  runCli,
  spawnCli,
  startServerProcess,
  testCurve,
  WAIT_MS,
  within,
} from "./harness.ts";
import { closedPort, stablePort } from "./ports.ts";
import { rawPeer } from "./raw_peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A client that reconnects and resumes by itself, with its events and status changes recorded. */
async function resilient(
  endpoint: string,
  login: string,
  password = `pw-${login}`,
  echo = false,
) {
  const events = new Recorder<ServerEvent>();
  const status = new Recorder<ConnectionStatus>();
  const conn: Connection = await connect({
    server: endpoint,
    login,
    password,
    timeoutMs: WAIT_MS,
    curve: testCurve(endpoint),
    reconnect: true,
    echo,
    onEvent: (e) => events.push(e),
    onStatus: (s) => status.push(s),
  });
  return { conn, events, status };
}

/**
 * Starts the server again on its fixed port. Retried (twice at most) when another test's socket
 * took the key endpoint's port (port + 1) meanwhile: a fixed port is a race with the whole suite.
 */
async function restart(dataDir: string, bind: string[]) {
  for (let attempt = 1;; attempt++) {
    try {
      return await startServerProcess({ dataDir, args: bind });
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
    }
  }
}

function messages(events: ServerEvent[]): MessageEvent[] {
  return events.filter((e): e is MessageEvent => e.type === "message");
}

Deno.test(
  "a resumed client gets what it missed, once, and never its own messages back",
  opts,
  async () => {
    const bind = ["--bind", `tcp://127.0.0.1:${stablePort(2)}`]; // the key endpoint takes port + 1
    let server = await startServerProcess({ args: bind });
    const dataDir = server.dataDir;
    const bob = await resilient(server.endpoint, "bob");
    // Carl asks for his own messages as events (echo), as the terminal client does.
    const carl = await resilient(server.endpoint, "carl", "pw-carl", true);
    const alice = await resilient(server.endpoint, "alice");
    try {
      const heard = replyData<{ id: number }>(await alice.conn.command("say", "alice first"));
      await bob.events.waitFor((e) => e.type === "message" && e.id === heard.id, "alice first");
      // Acknowledged own sends above the last message bob received: the old resume point.
      replyData(await bob.conn.command("say", "bob public"));
      replyData(await bob.conn.command("msg", "alice bob direct"));
      const carlSent = [replyData<{ id: number }>(await carl.conn.command("say", "carl before"))];
      await server.stop("SIGKILL");
      // Sent while the server is down: held, then sent after the re-login.
      const whileDown = bob.conn.command("say", "bob typed while down");
      const carlDown = carl.conn.command("say", "carl while down");
      server = await restart(dataDir, bind);
      replyData(await within(whileDown, "bob's line typed while down", RECONNECT_WAIT_MS));
      carlSent.push(
        replyData<{ id: number }>(await within(carlDown, "carl's line", RECONNECT_WAIT_MS)),
      );
      await alice.status.waitFor((s) => s.state === "online", "alice back", RECONNECT_WAIT_MS);
      const missed = replyData<{ id: number }>(await alice.conn.command("say", "alice after"));
      await bob.events.waitFor((e) => e.type === "message" && e.id === missed.id, "alice after");

      const seen = messages(bob.events.items);
      assert.deepEqual(
        seen.filter((m) => m.from === "bob").map((m) => m.text),
        [],
        "bob's own messages are not replayed to him",
      );
      assert.deepEqual(seen.map((m) => m.text), [
        "alice first",
        "carl before",
        "carl while down",
        "alice after",
      ], "everyone else's, once each, in order");
      const back = bob.status.items.find((s) => s.state === "online");
      assert.ok(back && back.state === "online");
      // Carl's "while down" may be stored before bob is back: then it is missed, and counted.
      assert.equal(
        back.catchup.count,
        seen.filter((m) => m.catchup).length,
        "only others' messages counted as missed",
      );

      await carl.events.waitFor((e) => e.type === "message" && e.id === missed.id, "carl too");
      const carlOwn = messages(carl.events.items).filter((m) => m.from === "carl");
      assert.deepEqual(
        carlOwn.map((m) => [m.id, m.catchup]),
        carlSent.map((r) => [r.id, undefined]),
        "each of carl's own messages once, as his echo, never as missed",
      );
    } finally {
      await alice.conn.close();
      await carl.conn.close();
      await bob.conn.close();
      await server.stop();
    }
  },
);

Deno.test("a server that is shutting down admits no one", opts, async () => {
  const server = await startServerProcess();
  const bob = await resilient(server.endpoint, "bob");
  try {
    await server.stop("SIGTERM");
    assert.ok(server.log.items.some((l) => / shutdown /.test(l)), "the server logged its shutdown");
    // The serving thread's lines reach the log through the main thread, which logs the shutdown
    // itself: order between the two is not kept, so count instead. One login: bob's first.
    const logins = server.log.items.filter((l) => / INFO login /.test(l));
    assert.equal(logins.length, 1, `one login, none after the shutdown: ${logins.join("\n")}`);
    assert.match(logins[0], /resumed=false/);
    const lost = await bob.status.waitFor((s) => s.state === "reconnecting", "bob reconnecting");
    assert.ok(lost.state === "reconnecting");
    assert.match(lost.reason, /Server shutting down/);
    // Full jitter: a random wait in [0, 1 s) before the first re-dial, said in the status.
    assert.ok(lost.delayMs >= 0 && lost.delayMs <= 1000, `bob waits ${lost.delayMs} ms`);
  } finally {
    await bob.conn.close();
  }
});

Deno.test("/passwd gives the session that changed the password a fresh token", opts, async () => {
  const bind = ["--bind", `tcp://127.0.0.1:${stablePort(2)}`]; // the key endpoint takes port + 1
  let server = await startServerProcess({ args: bind });
  const dataDir = server.dataDir;
  const bob = await resilient(server.endpoint, "bob");
  const other = await client(server.endpoint, "bob");
  try {
    const before = bob.conn.session.token;
    replyData(await bob.conn.command("passwd", "pw-bob pw-new"));
    assert.notEqual(bob.conn.session.token, before, "the session holds a new token");
    await server.stop("SIGKILL");
    server = await restart(dataDir, bind);
    await bob.status.waitFor(
      (s) => s.state === "online",
      "bob resumed with the new token",
      RECONNECT_WAIT_MS,
    );
    assert.ok((await bob.conn.command("say", "still here")).ok);
    assert.equal(
      bob.events.items.find((e) => e.type === "bye"),
      undefined,
      "bob's session did not end",
    );
    // The other session's token stopped working, as documented.
    await assert.rejects(
      connect({
        server: server.endpoint,
        login: "bob",
        token: other.conn.session.token,
        timeoutMs: WAIT_MS,
        curve: testCurve(server.endpoint),
      }),
      /token/,
    );
  } finally {
    await other.conn.close();
    await bob.conn.close();
    await server.stop();
  }
});

Deno.test("a ping after the server ended the session repeats its bye", opts, async () => {
  const server = await startServerProcess();
  const peer = rawPeer(server.endpoint);
  try {
    const send = (request: Record<string, unknown>) =>
      peer.send(["chatz/1", JSON.stringify([request])]);
    const reply = (id: number) =>
      peer.received.waitFor((m: unknown) => (m as { re?: number }).re === id, `reply ${id}`);
    send({ op: "login", id: 1, login: "pat", password: "pw-pat", key: peer.key });
    await reply(1);
    assert.equal(
      (await runCli(["admin", "--data", server.dataDir, "kick", "pat", "flood"])).code,
      0,
    );
    // Whether the bye event got through or not (a full queue drops it), the ping says it again.
    send({ op: "ping", id: 2 });
    assert.deepEqual((await reply(2) as { data?: unknown }).data, {
      session: false,
      bye: { code: "kicked", message: "Kicked by the operator: flood" },
    });
    send({ op: "login", id: 3, login: "pat", password: "pw-pat", key: peer.key });
    await reply(3);
    send({ op: "logout", id: 4 });
    await reply(4);
    send({ op: "ping", id: 5 });
    assert.deepEqual(
      (await reply(5) as { data?: unknown }).data,
      { session: false },
      "a logout has no bye to repeat",
    );
  } finally {
    await peer.close();
    await server.stop();
  }
});

Deno.test(
  "chatz connect to a paused server says it waits and gets in after resume",
  opts,
  async () => {
    const server = await startServerProcess();
    const admin = (...args: string[]) => runCli(["admin", "--data", server.dataDir, ...args]);
    assert.match((await admin("pause")).stdout, /^Paused/); // before carol dials
    const carol = spawnCli(
      ["connect", "--login", "carol", "--server", server.endpoint, "--timeout", "60000"],
      { CHATZ_PASSWORD: "pw-carol" },
    );
    try {
      await carol.stderr.waitFor(
        (l) => /Server is not admitting connections; retrying for up to 60 s \(--timeout\)/.test(l),
        "carol saying she waits, and how long",
      );
      assert.match((await admin("resume")).stdout, /^Listening again/);
      await carol.type("/say in at last");
      await carol.stdout.waitFor((l) => /<you> in at last/.test(l), "carol's message sent");
      assert.equal((await carol.end()).code, 0);
    } finally {
      try {
        carol.signal("SIGKILL"); // a failed step must not wait out carol's --timeout
      } catch { /* already gone */ }
      await carol.end();
      await server.stop();
    }
  },
);

Deno.test(
  "chatz connect gives up on a paused server at --timeout and names why",
  opts,
  async () => {
    const server = await startServerProcess();
    try {
      await runCli(["admin", "--data", server.dataDir, "pause"]);
      const run = await runCli(
        ["connect", "--login", "dave", "--server", server.endpoint, "--timeout", "2500"],
        { env: { CHATZ_PASSWORD: "pw-dave" } },
      );
      assert.equal(run.code, 1);
      assert.match(run.stderr, /not admitting connections/);
      assert.match(run.stderr, /2500 ms/);
      assert.doesNotMatch(run.stderr, /curve|encrypt/i, "no encryption hint");
    } finally {
      await server.stop();
    }
  },
);

Deno.test(
  "chatz connect to a closed port says nothing listens, before it asks for a password",
  opts,
  async (t) => {
    const endpoint = `tcp://127.0.0.1:${closedPort()}`;
    const args = ["connect", "--login", "erin", "--server", endpoint, "--timeout", "2000"];
    const noPassword = ["--password-file", "/nonexistent/chatz-password"];
    const nothingListens = (stderr: string) => {
      assert.match(stderr, /Cannot connect to "tcp:\/\/127\.0\.0\.1:\d+": nothing is listening/);
      assert.match(stderr, /Nothing is listening .*; retrying for up to 2 s \(--timeout\)/);
      assert.doesNotMatch(stderr, /password file/i, "the password was not read yet");
      assert.doesNotMatch(stderr, /CURVE|server-key|key endpoint/, "no encryption hint");
    };
    await t.step("in clear (--no-curve)", async () => {
      const run = await runCli([...args, ...noPassword, "--no-curve"]);
      assert.equal(run.code, 1);
      nothingListens(run.stderr);
    });
    await t.step("encrypted, the default: no key known, none to ask for", async () => {
      const run = await runCli([...args, ...noPassword, "--json"]);
      assert.equal(run.code, 1);
      nothingListens(run.stderr);
      assert.equal(JSON.parse(run.stdout.trim().split("\n")[0]).code, "unreachable");
    });
  },
);

Deno.test(
  "the real client through kill -9, restart, pause, resume and shutdown: nothing lost or repeated",
  opts,
  async (t) => {
    const step = chainedSteps(t);
    const bind = ["--bind", `tcp://127.0.0.1:${stablePort(2)}`]; // the key endpoint takes port + 1
    let server = await restart(await Deno.makeTempDir({ prefix: "chatz-e2e-" }), bind);
    const dataDir = server.dataDir;
    const admin = (...args: string[]) => runCli(["admin", "--data", dataDir, ...args]);
    const alice = await resilient(server.endpoint, "alice");
    const bob = spawnCli(
      ["connect", "--login", "bob", "--server", server.endpoint, "--json"],
      { CHATZ_PASSWORD: "pw-bob" },
    );
    const json = (line: string) => (line.startsWith("{") ? JSON.parse(line) : {});
    const sentToBob: number[] = [];
    /** Alice messages bob and waits until bob's client printed it. */
    const aliceSays = async (text: string) => {
      const reply = await within(
        alice.conn.command("msg", `bob ${text}`),
        `alice's "${text}"`,
        60_000,
      );
      const { id } = replyData<{ id: number }>(reply);
      sentToBob.push(id);
      await bob.stdout.waitFor((l) => json(l).id === id, `"${text}" at bob`, 30_000);
    };
    /** Bob messages alice (typed into the real client) and waits for his reply line. */
    let bobReplies = 0;
    const bobSays = async (text: string) => {
      await bob.type(`/msg alice ${text}`);
      const n = ++bobReplies;
      await bob.stdout.waitFor(
        () => bob.stdout.items.filter((x) => json(x).type === "reply").length >= n,
        `bob's reply ${n}`,
        30_000,
      );
    };
    /** Waits for bob's "Reconnected" printed after his line `from` (taken before the restart). */
    const bobBack = async (what: string, from: number) => {
      await bob.stdout.waitFor(
        (l, i) => i >= from && /Reconnected/.test(json(l).text ?? ""),
        `bob back after ${what}`,
        RECONNECT_WAIT_MS,
      );
    };
    try {
      await step("before anything happens", async () => {
        await bob.type("/list"); // bob is logged in (and registered) once this is answered
        bobReplies++;
        await bob.stdout.waitFor((l) => json(l).type === "reply", "bob logged in", 30_000);
        await aliceSays("m1");
        await bobSays("b1");
      });
      await step("kill -9, a line typed while down, restart", async () => {
        await server.stop("SIGKILL");
        await bob.type("/msg alice b2 typed while down");
        bobReplies++;
        server = await restart(dataDir, bind);
        await bob.stdout.waitFor(
          () => bob.stdout.items.filter((x) => json(x).type === "reply").length >= bobReplies,
          "the reply to b2 after the restart",
          60_000,
        );
        await alice.status.waitFor((s) => s.state === "online", "alice back", RECONNECT_WAIT_MS);
        await aliceSays("m2");
      });
      await step("pause and resume: the sessions go on", async () => {
        assert.match((await admin("pause")).stdout, /^Paused/);
        await aliceSays("m3 while paused");
        await bobSays("b3 while paused");
        assert.match((await admin("resume")).stdout, /^Listening again/);
      });
      await step("shutdown and restart: told, waits, comes back", async () => {
        const from = bob.stdout.items.length;
        assert.equal((await admin("shutdown", "planned", "restart")).code, 0);
        assert.equal((await exitWithin(server.child)).code, 0);
        const lost = await bob.stdout.waitFor(
          (l, i) => i >= from && /Connection lost/.test(json(l).text ?? ""),
          "bob told of the shutdown",
        );
        assert.match(json(lost).text, /Server shutting down: planned restart/);
        // A stopping server admits no one: no login after its shutdown began. (Before it, bob may
        // have logged in twice after the kill: a re-login answered too late is tried again.)
        const log = server.log.items;
        const stopping = log.findIndex((l) => / INFO shutdown /.test(l));
        assert.ok(stopping >= 0, "the server logged its shutdown");
        const late = log.slice(stopping).filter((l) => / INFO login /.test(l));
        assert.deepEqual(late, [], "logins into the stopping server");
        server = await restart(dataDir, bind);
        await bobBack("the shutdown", from);
        await aliceSays("m4 after the restart");
        await bobSays("b4 after the restart");
      });
      await step("each message once, in order; bob's own never replayed as missed", async () => {
        // Bob's reply to b4 and alice's copy of it leave the server in one turn, to two processes:
        // wait for hers before counting.
        await alice.events.waitFor(
          (e) => e.type === "message" && e.text === "b4 after the restart",
          "b4 at alice",
          30_000,
        );
        const events = bob.stdout.items.map(json).filter((e) => e.type === "message");
        assert.deepEqual(events.filter((e) => e.from === "alice").map((e) => e.id), sentToBob);
        assert.deepEqual(events.filter((e) => e.from === "bob"), [], "no own message as an event");
        const atAlice = alice.events.items.filter((e) => e.type === "message" && e.from === "bob");
        assert.deepEqual(atAlice.map((e) => e.type === "message" && e.text), [
          "b1",
          "b2 typed while down",
          "b3 while paused",
          "b4 after the restart",
        ]);
        const missed = bob.stdout.items.map(json).filter((e) =>
          /missed message/.test(e.text ?? "")
        );
        assert.deepEqual(missed, [], "nothing was missed: bob was told everything live");
      });
      assert.equal((await bob.end()).code, 0);
    } catch (error) {
      // What a failure in CI needs to be understood: both sides' view.
      console.error(
        `bob's output:\n${bob.stdout.items.join("\n")}\n${bob.stderr.items.join("\n")}`,
      );
      console.error(`the last server's log:\n${server.log.items.join("\n")}`);
      throw error;
    } finally {
      await alice.conn.close();
      await bob.end();
      await server.stop();
    }
  },
);

Deno.test(
  "a connected client whose server's key changed stops with the WARNING",
  opts,
  async () => {
    const bind = ["--bind", `tcp://127.0.0.1:${stablePort(2)}`]; // the key endpoint takes port + 1
    let server = await restart(await Deno.makeTempDir({ prefix: "chatz-key-a-" }), bind);
    const bob = spawnCli(
      ["connect", "--login", "bob", "--server", server.endpoint, "--json"],
      { CHATZ_PASSWORD: "pw-bob" },
    );
    try {
      await bob.type("/list");
      await bob.stdout.waitFor((l) => l.includes('"type":"reply"'), "bob logged in", 30_000);
      await server.stop();
      // The same address served from a new data folder: a new CURVE key.
      server = await restart(await Deno.makeTempDir({ prefix: "chatz-key-b-" }), bind);
      await bob.stderr.waitFor(
        (l) => /WARNING: the CURVE key of server "[^"]+" has CHANGED from \S+ to \S+/.test(l),
        "the warning a fresh connect gives",
        60_000,
      );
      await bob.stdout.waitFor(
        (l) => l.includes('"code":"server_key_changed"'),
        "the session ended",
      );
      assert.equal((await bob.end()).code, 1);
    } finally {
      try {
        bob.signal("SIGKILL");
      } catch { /* already gone */ }
      await bob.end();
      await server.stop();
    }
  },
);

Deno.test(
  "a connected client whose server came back in the other mode stops with the mismatch",
  opts,
  async (t) => {
    const bind = ["--bind", `tcp://127.0.0.1:${stablePort(2)}`]; // the key endpoint takes port + 1
    const dataDir = await Deno.makeTempDir({ prefix: "chatz-mode-" });
    /** Connects `login`, has it logged in, restarts the server with `then`, waits for the end. */
    const switched = async (
      login: string,
      first: string[],
      then: string[],
      clientArgs: string[],
    ) => {
      let server = await restart(dataDir, [...bind, ...first]);
      const cli = spawnCli(
        ["connect", "--login", login, "--server", server.endpoint, "--json", ...clientArgs],
        { CHATZ_PASSWORD: `pw-${login}` },
      );
      try {
        await cli.type("/list");
        await cli.stdout.waitFor((l) => l.includes('"type":"reply"'), `${login} logged in`, 30_000);
        await server.stop();
        server = await restart(dataDir, [...bind, ...then]);
        await cli.stdout.waitFor(
          (l) => l.includes('"code":"encryption_mismatch"'),
          `${login}'s session ended with the mismatch`,
          60_000,
        );
        assert.equal((await cli.end()).code, 1);
        return cli.stdout.items.join("\n");
      } finally {
        try {
          cli.signal("SIGKILL");
        } catch { /* already gone */ }
        await cli.end();
        await server.stop();
      }
    };
    await t.step("encrypted client, server restarted with --no-curve", async () => {
      const out = await switched("bob", [], ["--no-curve"], []);
      assert.match(out, /the server does not encrypt \(it runs with --no-curve\) and this client/);
    });
    await t.step("--no-curve client, server restarted encrypted", async () => {
      const out = await switched("carl", ["--no-curve"], [], ["--no-curve"]);
      assert.match(out, /the server encrypts \(CURVE\) and this client does not/);
    });
  },
);
