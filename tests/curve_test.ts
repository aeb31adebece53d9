// Cross-process tests of encryption: `chatz serve --curve`, its key file and key endpoint, and how
// `chatz connect` comes to trust a server's key (--server-key, known_servers, first use, a change).

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { curveKeyPair } from "zeromq";
import { fetchServerKey } from "../client/curve_trust.ts";
import {
  closedPort,
  jsonLines,
  runCli,
  type ServerProcess,
  spawnCli,
  startServerProcess,
} from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Short, so the cases that wait for an unanswered login stay quick; loopback answers in ms. */
const FAIL_TIMEOUT = "1500";

/** A `chatz serve --curve` process and what it printed about its key. */
interface CurveServer extends ServerProcess {
  key: string;
  keyEndpoint: string;
}

async function startCurveServer(
  options: { dataDir?: string; args?: string[] } = {},
): Promise<CurveServer> {
  const server = await startServerProcess({
    dataDir: options.dataDir,
    args: ["--curve", ...(options.args ?? [])],
  });
  const printed = (label: string) =>
    server.stdout.waitFor((line) => line.startsWith(label), `"${label}" on stdout`)
      .then((line) => line.slice(label.length).trim());
  try {
    return {
      ...server,
      key: await printed("CURVE public key:"),
      keyEndpoint: await printed("key endpoint:"),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** A loopback port P with P + 1 free as well, for a server with the default key endpoint. */
function freePortPair(): number {
  for (let i = 0; i < 20; i++) {
    const port = closedPort();
    try {
      Deno.listen({ hostname: "127.0.0.1", port: port + 1 }).close();
      return port;
    } catch { /* P + 1 is taken: try another P */ }
  }
  throw new Error("Cannot find two free loopback ports in a row");
}

/** A fresh configuration folder for the client, not yet created (the client makes it 0700). */
async function configDir(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "chatz-config-" }), "chatz");
}

function connectArgs(server: string, login: string, ...extra: string[]): string[] {
  return ["connect", "--login", login, "--server", server, ...extra];
}

Deno.test(
  "chatz serve --curve makes its key file 0600 and reuses it after a restart",
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
      });
      await t.step("the key endpoint answers with the same key", async () => {
        assert.match(first.keyEndpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(await fetchServerKey(first.keyEndpoint, 5000), first.key);
      });
      await t.step("a restart on the same data folder keeps the key", async () => {
        await first.stop();
        restarted = await startCurveServer({ dataDir: first.dataDir });
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

Deno.test("neither the password nor a message crosses the network in clear", opts, async () => {
  const plain = await startServerProcess();
  const encrypted = await startCurveServer();
  try {
    const secrets = ["correct-horse-battery", "the vault code is 4711"];
    const wire = async (server: string, ...extra: string[]) => {
      const proxy = recordingProxy(server);
      try {
        const run = await runCli(
          [...connectArgs(proxy.endpoint, "carol", ...extra), "--json"],
          { stdin: `${secrets[1]}\n`, env: { CHATZ_PASSWORD: secrets[0] } },
        );
        assert.equal(run.code, 0, run.stderr);
        return await proxy.close();
      } finally {
        await proxy.close();
      }
    };
    // The same recording through a plaintext server shows what the check would catch.
    const clear = await wire(plain.endpoint);
    assert.ok(secrets.every((s) => clear.includes(s)));
    const sealed = await wire(encrypted.endpoint, "--server-key", encrypted.key);
    assert.ok(sealed.length > 0);
    assert.ok(secrets.every((s) => !sealed.includes(s)), "a secret crossed in clear");
  } finally {
    await plain.stop();
    await encrypted.stop();
  }
});

Deno.test("an encrypted server refuses clients that do not have its key", opts, async (t) => {
  const server = await startCurveServer();
  const env = { CHATZ_PASSWORD: "pw", CHATZ_CONFIG_DIR: await configDir() };
  try {
    await t.step("a plaintext client times out with a hint to encrypt", async () => {
      const { code, stderr } = await runCli(
        connectArgs(server.endpoint, "dave", "--timeout", FAIL_TIMEOUT),
        { env },
      );
      assert.equal(code, 1);
      assert.match(stderr, /no answer within 1500 ms; if the server encrypts/);
      assert.match(stderr, /connect with --curve or --server-key KEY/);
    });
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
          FAIL_TIMEOUT,
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
  } finally {
    await server.stop();
  }
});

Deno.test(
  "trust on first use: remembered once, silent next time, a changed key refused",
  opts,
  async (t) => {
    const port = freePortPair();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const bind = ["--bind", endpoint]; // the default key endpoint: port + 1
    const config = await configDir();
    const knownServers = join(config, "known_servers");
    const env = { CHATZ_PASSWORD: "pw-erin", CHATZ_CONFIG_DIR: config };
    const connectErin = () =>
      runCli(connectArgs(endpoint, "erin", "--curve", "--timeout", FAIL_TIMEOUT), {
        env,
        stdin: "/list\n",
      });
    let server = await startCurveServer({ args: bind });
    try {
      assert.equal(server.keyEndpoint, `tcp://127.0.0.1:${port + 1}`);
      const oldKey = server.key;

      await t.step("the first connect warns, remembers the key and chats", async () => {
        const { code, stdout, stderr } = await connectErin();
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

      await t.step("the second connect is silent and works", async () => {
        const { code, stdout, stderr } = await connectErin();
        assert.equal(code, 0, stderr);
        assert.match(stdout, /Online \(1\): erin/);
        assert.equal(stderr, "");
      });

      await t.step("a new key on the same endpoint is refused loudly, exit code 1", async () => {
        await server.stop();
        server = await startCurveServer({ args: bind }); // a new data folder: a new key
        assert.notEqual(server.key, oldKey);
        const { code, stdout, stderr } = await connectErin();
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

/** A TCP relay to a chat endpoint that records every byte the client sends. */
function recordingProxy(target: string) {
  const [, host, port] = /^tcp:\/\/(.+):(\d+)$/.exec(target)!;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sent: Uint8Array[] = [];
  const relays: Promise<unknown>[] = [];
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ hostname: host, port: Number(port) });
      conns.push(conn, upstream);
      const record = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          sent.push(chunk.slice());
          controller.enqueue(chunk);
        },
      });
      relays.push(
        conn.readable.pipeThrough(record).pipeTo(upstream.writable).catch(() => {}),
        upstream.readable.pipeTo(conn.writable).catch(() => {}),
      );
    }
  })().catch(() => {});
  let closed: Promise<string> | undefined;
  return {
    endpoint: `tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close(): Promise<string> {
      closed ??= (async () => {
        listener.close();
        for (const conn of conns) {
          try {
            conn.close();
          } catch { /* already closed by its relay */ }
        }
        await accepting;
        await Promise.all(relays);
        return new TextDecoder("latin1").decode(
          new Uint8Array(sent.flatMap((chunk) => [...chunk])),
        );
      })();
      return closed;
    },
  };
}
