// Cross-process tests of encryption, on by default: `chatz serve`'s key file and key endpoint,
// how `chatz connect` comes to trust a key (--server-key, known_servers, first use), and --no-curve.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { curveKeyPair } from "zeromq";
import { fetchServerKey } from "../client/curve_trust.ts";
import {
  CHATZ_PERMISSIONS,
  exitWithin,
  jsonLines,
  pumpLines,
  Recorder,
  ROOT,
  runCli,
  type ServerProcess,
  spawnCli,
  startServerProcess,
} from "./harness.ts";
import { stablePort } from "./ports.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Short, so the cases that wait for an unanswered login stay quick; loopback answers in ms. */
const FAIL_TIMEOUT = "1500";

/** An encrypted server, with the key and key endpoint it printed. */
type CurveServer = ServerProcess & { key: string; keyEndpoint: string };

async function startCurveServer(
  options: { dataDir?: string; args?: string[] } = {},
): Promise<CurveServer> {
  const server = await startServerProcess(options);
  assert.ok(server.key && server.keyEndpoint, "an encrypted server prints its key and endpoint");
  return server as CurveServer;
}

/** A fresh configuration folder for the client, not yet created (the client makes it 0700). */
async function configDir(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "chatz-config-" }), "chatz");
}

function connectArgs(server: string, login: string, ...extra: string[]): string[] {
  return ["connect", "--login", login, "--server", server, ...extra];
}

Deno.test(
  "chatz serve encrypts by default: a 0600 key file, reused after a restart",
  opts,
  async (t) => {
    const first = await startCurveServer();
    let restarted: CurveServer | undefined;
    try {
      const path = join(first.dataDir, "curve.key");
      await t.step("the file holds the printed public key, readable by its owner only", () => {
        assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
        const file = JSON.parse(readFileSync(path, "utf8"));
        assert.equal(file.public, first.key);
        assert.match(file.secret, /^.{40}$/);
        assert.notEqual(file.secret, first.key);
        assert.ok(first.log.items.some((l) => l.includes("curve_key_created")));
      });
      await t.step("the key endpoint answers with the same key", async () => {
        assert.match(first.keyEndpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(await fetchServerKey(first.keyEndpoint, 5000), first.key);
      });
      await t.step("status says the server encrypts, with its key", async () => {
        const { code, stdout } = await runCli(["admin", "status", "--data", first.dataDir]);
        assert.equal(code, 0);
        assert.match(stdout, new RegExp(`security +CURVE, public key \\S+; key endpoint tcp://`));
        assert.ok(stdout.includes(first.key), stdout);
      });
      await t.step("a restart on the same data folder keeps the key", async () => {
        await first.stop();
        // --curve, from before encryption was the default, is still accepted and changes nothing.
        restarted = await startCurveServer({ dataDir: first.dataDir, args: ["--curve"] });
        assert.equal(restarted.key, first.key);
        assert.ok(restarted.log.items.some((l) => l.includes("curve_key_loaded")));
      });
    } finally {
      await first.stop();
      await restarted?.stop();
    }
  },
);

Deno.test(
  "two encrypted chatz connect --json clients exchange a direct message",
  opts,
  async () => {
    const server = await startCurveServer();
    const config = await configDir();
    const env = (login: string) => ({ CHATZ_PASSWORD: `pw-${login}`, CHATZ_CONFIG_DIR: config });
    const args = (login: string) =>
      connectArgs(server.endpoint, login, "--server-key", server.key, "--json");
    const bob = spawnCli(args("bob"), env("bob"));
    const alice = spawnCli(args("alice"), env("alice"));
    const json = (line: string) => line.startsWith("{") ? JSON.parse(line) : {};
    try {
      await bob.type("/list");
      await bob.stdout.waitFor((l) => json(l).type === "reply", "bob logged in");
      await alice.type("/msg bob over an encrypted line");
      const dm = json(
        await bob.stdout.waitFor(
          (l) => json(l).type === "message" && json(l).scope === "direct",
          "bob's direct message",
        ),
      );
      assert.deepEqual([dm.from, dm.to, dm.text], ["alice", "bob", "over an encrypted line"]);
      assert.equal((await alice.end()).code, 0);
      assert.equal((await bob.end()).code, 0);
      // --server-key alone never reads or writes the known-servers file.
      assert.equal(existsSync(config), false);
    } finally {
      await alice.end();
      await bob.end();
      await server.stop();
    }
  },
);

Deno.test(
  "a default session shows neither the password nor a message on the wire; --no-curve does",
  opts,
  async (t) => {
    const secrets = ["correct-horse-battery", "the vault code is 4711"];
    /** One scripted session through a relay that records both directions of every connection. */
    const session = async (server: ServerProcess, ...extra: string[]) => {
      const relay = await recordingRelay(server);
      try {
        const run = await runCli(
          [...connectArgs(relay.endpoint, "carol", ...extra), "--json", "--wait", "200"],
          {
            // Said, then read back from history: the text crosses both ways.
            stdin: `${secrets[1]}\n/history\n`,
            env: { CHATZ_PASSWORD: secrets[0], CHATZ_CONFIG_DIR: await configDir() },
          },
        );
        assert.equal(run.code, 0, run.stderr);
        const history = jsonLines(run.stdout).find((e) =>
          Array.isArray((e.data as { messages?: unknown } | undefined)?.messages)
        )?.data as {
          messages: { text: string }[];
        };
        assert.equal(history.messages[0].text, secrets[1], "the message went there and back");
        return { ...run, wire: await relay.close() };
      } finally {
        await relay.close();
      }
    };

    await t.step(
      "default server, default client (first use accepted): nothing in clear",
      async () => {
        const server = await startCurveServer();
        try {
          // No key option: the client asks the relayed key endpoint, as a first-time user's does.
          const { stderr, wire } = await session(server, "--trust-on-first-use", "accept");
          assert.ok(stderr.includes(`Its CURVE key is ${server.key}`), stderr);
          assert.ok(wire.length > 0);
          for (const secret of [...secrets, "carol"]) {
            assert.ok(!wire.includes(secret), `"${secret}" crossed the network in clear`);
          }
        } finally {
          await server.stop();
        }
      },
    );

    await t.step("--no-curve on both sides chats, warns, and shows everything", async () => {
      const server = await startServerProcess({ plaintext: true });
      try {
        assert.equal(server.key, undefined);
        assert.ok(
          server.log.items.some((l) => l.includes("serving WITHOUT encryption (--no-curve")),
          server.log.items.join("\n"),
        );
        const { stderr, wire } = await session(server, "--no-curve");
        assert.match(stderr, /WARNING: connecting WITHOUT encryption \(--no-curve\)/);
        assert.ok(secrets.every((s) => wire.includes(s)), "the relay records what crosses");
        const status = await runCli(["admin", "status", "--data", server.dataDir]);
        assert.match(status.stdout, /security +NONE: WARNING: serving WITHOUT encryption/);
        assert.match(status.stdout, /passwords and messages travel in clear/);
      } finally {
        await server.stop();
      }
    });
  },
);

Deno.test(
  "mismatched modes fail at once with a message that says which side encrypts",
  opts,
  async (t) => {
    const encrypted = await startCurveServer();
    const plaintext = await startServerProcess({ plaintext: true });
    // Far longer than the test takes: an answer that names the mismatch did not wait for it.
    const timeout = ["--timeout", "30000", "--json"];
    const env = { CHATZ_PASSWORD: "pw", CHATZ_CONFIG_DIR: await configDir() };
    try {
      await t.step("a --no-curve client and an encrypted server", async () => {
        const { code, stdout, stderr } = await runCli(
          connectArgs(encrypted.endpoint, "gus", "--no-curve", ...timeout),
          { env },
        );
        assert.equal(code, 1);
        assert.ok(
          stderr.includes(
            `Cannot connect to "${encrypted.endpoint}": the server encrypts (CURVE) and this ` +
              `client does not (--no-curve); connect without --no-curve`,
          ),
          stderr,
        );
        assert.equal(jsonLines(stdout)[0].code, "encryption_mismatch");
      });
      await t.step("an encrypting client and a --no-curve server", async () => {
        // The key is irrelevant: the greetings already disagree on the mechanism.
        const key = curveKeyPair().publicKey;
        const { code, stdout, stderr } = await runCli(
          connectArgs(plaintext.endpoint, "gus", "--server-key", key, ...timeout),
          { env },
        );
        assert.equal(code, 1);
        assert.ok(
          stderr.includes(
            `Cannot connect to "${plaintext.endpoint}": the server does not encrypt (it runs ` +
              `with --no-curve) and this client does; ask its operator to drop --no-curve, or ` +
              `connect with --no-curve`,
          ),
          stderr,
        );
        assert.equal(jsonLines(stdout)[0].code, "encryption_mismatch");
      });
      await t.step("a default client meeting a --no-curve server for the first time", async () => {
        // No key known and no --server-key: the plaintext server serves no key endpoint to ask.
        const { code, stdout, stderr } = await runCli(
          connectArgs(plaintext.endpoint, "gus", ...timeout),
          { env: { ...env, CHATZ_CONFIG_DIR: await configDir() } },
        );
        assert.equal(code, 1);
        assert.ok(
          stderr.includes(
            `Cannot connect to "${plaintext.endpoint}": the server does not encrypt (it runs ` +
              `with --no-curve) and this client does`,
          ),
          stderr,
        );
        assert.doesNotMatch(stderr, /key endpoint/, "no guess about the key endpoint");
        assert.equal(jsonLines(stdout)[0].code, "encryption_mismatch");
      });
    } finally {
      await encrypted.stop();
      await plaintext.stop();
    }
  },
);

Deno.test("an encrypted server refuses clients that do not have its key", opts, async (t) => {
  const server = await startCurveServer();
  const env = { CHATZ_PASSWORD: "pw", CHATZ_CONFIG_DIR: await configDir() };
  try {
    await t.step("a wrong --server-key names itself as the likely cause", async () => {
      const wrong = curveKeyPair().publicKey;
      const { code, stdout, stderr } = await runCli(
        connectArgs(
          server.endpoint,
          "dave",
          "--server-key",
          wrong,
          "--key-endpoint",
          server.keyEndpoint,
          "--timeout",
          "30000", // the server hangs up at once: the answer does not wait for this
          "--json",
        ),
        { env },
      );
      assert.equal(code, 1);
      assert.ok(stderr.includes(`the CURVE handshake failed: --server-key is ${wrong}`), stderr);
      assert.ok(stderr.includes(`reports ${server.key}`), stderr);
      assert.equal(jsonLines(stdout)[0].code, "wrong_server_key");
    });
    await t.step("a --server-key that is no key is refused before connecting", async () => {
      const { code, stderr } = await runCli(
        connectArgs(server.endpoint, "dave", "--server-key", "not-a-key"),
        { env },
      );
      assert.equal(code, 1);
      assert.match(stderr, /Cannot use --server-key "not-a-key": not a CURVE key/);
    });
    await t.step("--no-curve with --server-key is a contradiction, refused", async () => {
      const { code, stderr } = await runCli(
        connectArgs(server.endpoint, "dave", "--no-curve", "--server-key", server.key),
        { env },
      );
      assert.equal(code, 1);
      assert.match(stderr, /Cannot use --server-key with --no-curve/);
    });
  } finally {
    await server.stop();
  }
});

Deno.test(
  "trust on first use: refused by scripts unless accepted, then remembered; a change refused",
  opts,
  async (t) => {
    const port = stablePort(2);
    const endpoint = `tcp://127.0.0.1:${port}`;
    const bind = ["--bind", endpoint]; // the default key endpoint: port + 1
    const config = await configDir();
    const knownServers = join(config, "known_servers");
    const env = { CHATZ_PASSWORD: "pw-erin", CHATZ_CONFIG_DIR: config };
    const connectErin = (...extra: string[]) =>
      runCli(connectArgs(endpoint, "erin", "--timeout", FAIL_TIMEOUT, ...extra), {
        env,
        stdin: "/list\n",
      });
    let server = await startCurveServer({ args: bind });
    try {
      assert.equal(server.keyEndpoint, `tcp://127.0.0.1:${port + 1}`);
      const oldKey = server.key;

      await t.step(
        "a script refuses an unknown key by default, and says how to go on",
        async () => {
          const { code, stdout, stderr } = await connectErin();
          assert.equal(code, 1);
          assert.equal(stdout, "");
          assert.ok(stderr.includes(`Its CURVE key is ${oldKey}`), stderr);
          assert.ok(stderr.includes("stdin is not a terminal to ask"), stderr);
          assert.ok(stderr.includes("connect with --trust-on-first-use accept"), stderr);
          assert.equal(existsSync(knownServers), false);
          const refused = await connectErin("--trust-on-first-use", "refuse", "--json");
          assert.equal(jsonLines(refused.stdout)[0].code, "unknown_server_key");
        },
      );

      await t.step("accepted, it warns, remembers the key and chats", async () => {
        const { code, stdout, stderr } = await connectErin("--trust-on-first-use", "accept");
        assert.equal(code, 0, stderr);
        assert.match(stdout, /Online \(1\): erin/);
        assert.ok(
          stderr.includes(`The authenticity of server "${endpoint}" cannot be established`),
          stderr,
        );
        assert.ok(stderr.includes(`Its CURVE key is ${oldKey}`), stderr);
        assert.ok(stderr.includes(`remembering it in "${knownServers}"`), stderr);
        assert.equal(readFileSync(knownServers, "utf8"), `${endpoint} ${oldKey}\n`);
        assert.equal(Deno.statSync(knownServers).mode! & 0o777, 0o600);
        assert.equal(Deno.statSync(config).mode! & 0o777, 0o700);
      });

      await t.step("the next connect, with no option, is silent and works", async () => {
        const { code, stdout, stderr } = await connectErin();
        assert.equal(code, 0, stderr);
        assert.match(stdout, /Online \(1\): erin/);
        assert.equal(stderr, "");
        const old = await connectErin("--curve"); // from older scripts: accepted, changes nothing
        assert.equal(old.code, 0, old.stderr);
        assert.equal(old.stderr, "");
      });

      await t.step("a new key on the same endpoint is refused loudly, exit code 1", async () => {
        await server.stop();
        server = await startCurveServer({ args: bind }); // a new data folder: a new key
        assert.notEqual(server.key, oldKey);
        const { code, stdout, stderr } = await connectErin("--trust-on-first-use", "accept");
        assert.equal(code, 1);
        assert.equal(stdout, "");
        assert.ok(
          stderr.includes(
            `WARNING: the CURVE key of server "${endpoint}" has CHANGED from ${oldKey} to ${server.key}`,
          ),
          stderr,
        );
        assert.ok(
          stderr.includes(
            `refusing to connect; if this is expected, remove its line from "${knownServers}"`,
          ),
          stderr,
        );
        assert.equal(readFileSync(knownServers, "utf8"), `${endpoint} ${oldKey}\n`);
      });
    } finally {
      await server.stop();
    }
  },
);

Deno.test(
  "on a terminal, first use asks yes or no as SSH does, and remembers only a yes",
  opts,
  async (t) => {
    const server = await startCurveServer();
    const config = await configDir();
    const knownServers = join(config, "known_servers");
    // --json: scripted output, though stdin is a terminal; the question is asked all the same.
    const args = connectArgs(
      server.endpoint,
      "hal",
      "--key-endpoint",
      server.keyEndpoint,
      "--json",
    );
    try {
      await t.step("no: exit 1, nothing remembered", async () => {
        const tty = onTerminal(args, config);
        await tty.output.waitFor((l) => l.includes(`Its CURVE key is ${server.key}`), "the key");
        await tty.type("maybe\n"); // asked again, as SSH does
        await tty.type("no\n");
        const output = await tty.end();
        assert.equal(output.code, 1);
        assert.ok(output.text.includes("(yes/no/[key])? "), output.text);
        assert.ok(output.text.includes("Please type 'yes', 'no' or the key: "), output.text);
        assert.ok(output.text.includes("was not trusted (you answered no)"), output.text);
        assert.equal(existsSync(knownServers), false);
      });
      await t.step("yes: remembered, and the session goes on", async () => {
        const tty = onTerminal(args, config);
        await tty.output.waitFor((l) => l.includes(`Its CURVE key is ${server.key}`), "the key");
        await tty.type("yes\n");
        await tty.output.waitFor((l) => l.includes("Trusting it on first use"), "trusted");
        await tty.type("/list\n");
        await tty.output.waitFor((l) => l.includes("Online (1): hal"), "the list");
        await tty.type("\x04"); // Ctrl-D: end of input on a terminal
        const output = await tty.end();
        assert.equal(output.code, 0, output.text);
        assert.equal(readFileSync(knownServers, "utf8"), `${server.endpoint} ${server.key}\n`);
      });
    } finally {
      await server.stop();
    }
  },
);

Deno.test("--key-bind none serves no key endpoint; --server-key still works", opts, async (t) => {
  const port = stablePort(2);
  const endpoint = `tcp://127.0.0.1:${port}`;
  const server = await startServerProcess({ args: ["--bind", endpoint, "--key-bind", "none"] });
  const env = { CHATZ_PASSWORD: "pw-fay", CHATZ_CONFIG_DIR: await configDir() };
  try {
    await t.step("no key endpoint is printed, and none answers on port + 1", async () => {
      assert.ok(server.key);
      assert.equal(server.keyEndpoint, undefined);
      assert.ok(!server.stdout.items.some((l) => l.startsWith("key endpoint:")));
      assert.equal(await fetchServerKey(`tcp://127.0.0.1:${port + 1}`, 300), undefined);
    });
    await t.step("a client without the key says where it looked and what to give", async () => {
      const { code, stderr } = await runCli(
        connectArgs(endpoint, "fay", "--trust-on-first-use", "accept", "--timeout", "500"),
        { env },
      );
      assert.equal(code, 1);
      assert.match(
        stderr,
        /Cannot get the CURVE key of "tcp:\/\/127\.0\.0\.1:\d+": its key endpoint/,
      );
      assert.match(stderr, /give the key with --server-key/);
    });
    await t.step("a client with --server-key chats", async () => {
      const { code, stdout, stderr } = await runCli(
        connectArgs(endpoint, "fay", "--server-key", server.key!),
        { env, stdin: "/list\n" },
      );
      assert.equal(code, 0, stderr);
      assert.match(stdout, /Online \(1\): fay/);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("the config file turns encryption off with curve = false", opts, async () => {
  const file = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    await Deno.writeTextFile(file, "curve = false\n");
    const off = await runCli(["serve", "--config", file, "--print-config"]);
    assert.match(off.stdout, /^curve = false {2}# from the config file$/m);
    const on = await runCli(["serve", "--print-config"]);
    assert.match(on.stdout, /^curve = true {2}# default$/m);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("chatz serve --no-curve with --key-bind is refused at start", opts, async () => {
  const { code, stderr } = await runCli([
    "serve",
    "--no-curve",
    "--key-bind",
    "tcp://127.0.0.1:*",
    "--bind",
    "tcp://127.0.0.1:*",
    "--data",
    await Deno.makeTempDir({ prefix: "chatz-test-" }),
    "--no-console",
  ]);
  assert.equal(code, 1);
  assert.match(stderr, /Cannot serve the CURVE key on "tcp:\/\/127\.0\.0\.1:\*": --no-curve/);
});

/**
 * Runs the chatz CLI with a pseudo-terminal as stdin, through util-linux `script`: what a person
 * types goes in with `type`, and everything the terminal shows comes out as lines.
 */
function onTerminal(args: string[], config: string) {
  const command = [Deno.execPath(), "run", ...CHATZ_PERMISSIONS, join(ROOT, "main.ts"), ...args]
    .map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", CHATZ_PASSWORD: "pw-hal", CHATZ_CONFIG_DIR: config },
    cwd: ROOT,
  }).spawn();
  const output = new Recorder<string>();
  const pumps = Promise.all([pumpLines(child.stdout, output), pumpLines(child.stderr, output)]);
  const stdin = child.stdin.getWriter();
  return {
    output,
    type: (text: string) => stdin.write(new TextEncoder().encode(text)),
    async end() {
      await stdin.close().catch(() => {});
      const { code } = await exitWithin(child);
      await pumps;
      return { code, text: output.items.join("\n") };
    },
  };
}

/**
 * A TCP relay in front of a server's chat endpoint and, on the next port, its key endpoint (so a
 * client's default key endpoint, port + 1, reaches it too). Records every byte, both ways.
 */
async function recordingRelay(server: ServerProcess) {
  const port = stablePort(2);
  const targets: [number, string | undefined][] = [
    [port, server.endpoint],
    [port + 1, server.keyEndpoint],
  ];
  const recorded: Uint8Array[] = [];
  const relays: Promise<unknown>[] = [];
  const conns: Deno.Conn[] = [];
  const listeners: Deno.Listener[] = [];
  const recorder = () =>
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        recorded.push(chunk.slice());
        controller.enqueue(chunk);
      },
    });
  const accepting = targets.filter(([, target]) => target !== undefined).map(([at, target]) => {
    const [, host, targetPort] = /^tcp:\/\/(.+):(\d+)$/.exec(target!)!;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: at });
    listeners.push(listener);
    return (async () => {
      for await (const conn of listener) {
        const upstream = await Deno.connect({ hostname: host, port: Number(targetPort) });
        conns.push(conn, upstream);
        relays.push(
          conn.readable.pipeThrough(recorder()).pipeTo(upstream.writable).catch(() => {}),
          upstream.readable.pipeThrough(recorder()).pipeTo(conn.writable).catch(() => {}),
        );
      }
    })().catch(() => {});
  });
  await Promise.resolve();
  let closed: Promise<string> | undefined;
  return {
    endpoint: `tcp://127.0.0.1:${port}`,
    close(): Promise<string> {
      closed ??= (async () => {
        for (const listener of listeners) listener.close();
        for (const conn of conns) {
          try {
            conn.close();
          } catch { /* already closed by its relay */ }
        }
        await Promise.all(accepting);
        await Promise.all(relays);
        return new TextDecoder("latin1").decode(
          new Uint8Array(recorded.flatMap((chunk) => [...chunk])),
        );
      })();
      return closed;
    },
  };
}
