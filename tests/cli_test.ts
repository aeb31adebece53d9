// Tests of the real `chatz` command line: help text as user interface, scripted JSON chat, exit codes.
// Two `chatz connect --json` processes talk through a real server, as the README promises.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import config from "../deno.json" with { type: "json" };
import { jsonLines, ROOT, runCli, spawnCli, startServerProcess } from "./harness.ts";
import { closedPort } from "./ports.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Set UPDATE_GOLDEN=1 to rewrite the golden help files after an intended change. */
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

Deno.test("chatz --help texts match their golden copies", opts, async (t) => {
  for (const args of [[], ["serve"], ["connect"], ["admin"], ["migrate"]]) {
    const name = ["chatz", ...args].join("_");
    await t.step(`${["chatz", ...args].join(" ")} --help`, async () => {
      const { code, stdout } = await runCli([...args, "--help"]);
      assert.equal(code, 0);
      const golden = `${ROOT}tests/golden/${name}_help.txt`;
      if (UPDATE) writeFileSync(golden, stdout);
      assert.equal(stdout, readFileSync(golden, "utf8"));
    });
  }
  await t.step("--version prints the version from deno.json", async () => {
    const { stdout } = await runCli(["--version"]);
    assert.equal(stdout.trim(), config.version);
  });
});

Deno.test(
  "two scripted chatz connect --json clients chat through a real server",
  opts,
  async (t) => {
    const server = await startServerProcess();
    const env = (login: string) => ({ CHATZ_PASSWORD: `pw-${login}` });
    const connectArgs = (
      login: string,
    ) => ["connect", "--login", login, "--server", server.endpoint, "--json"];
    const bob = spawnCli(connectArgs("bob"), env("bob"));
    const alice = spawnCli(connectArgs("alice"), env("alice"));
    const json = (line: string) => line.startsWith("{") ? JSON.parse(line) : {};
    const seen = (
      cli: typeof bob,
      match: (event: Record<string, unknown>) => boolean,
      what: string,
    ) => cli.stdout.waitFor((line) => match(json(line)), what);
    try {
      await bob.type("/list");
      await seen(bob, (e) => e.type === "reply", "bob logged in");
      await alice.type("/list");
      await seen(
        alice,
        (e) => e.type === "reply" && /alice, bob/.test(String(e.text)),
        "both online",
      );

      await t.step("direct message", async () => {
        await alice.type("/msg bob hello bob");
        const e = await seen(bob, (e) => e.type === "message" && e.scope === "direct", "bob's DM");
        assert.deepEqual(
          [json(e).from, json(e).to, json(e).text],
          ["alice", "bob", "hello bob"],
        );
      });
      await t.step("public room", async () => {
        await alice.type("hello everyone");
        const e = json(
          await seen(bob, (e) => e.type === "message" && e.scope === "public", "public"),
        );
        assert.deepEqual([e.from, e.text], ["alice", "hello everyone"]);
      });
      await t.step("groups: create, join, send, list, members, leave", async () => {
        await bob.type("/group create ops");
        await seen(bob, (e) => e.type === "reply" && e.text === "Created group ops", "created");
        await alice.type("/group join ops");
        await seen(
          bob,
          (e) => e.type === "group" && e.action === "join" && e.login === "alice",
          "join event",
        );
        await alice.type("/g ops deploying now");
        const e = json(
          await seen(bob, (e) => e.type === "message" && e.scope === "group", "group message"),
        );
        assert.deepEqual([e.group, e.from, e.text], ["ops", "alice", "deploying now"]);
        await alice.type("/group list");
        await seen(
          alice,
          (e) => e.type === "reply" && /\* ops \(2 members, owner bob\)/.test(String(e.text)),
          "list",
        );
        await alice.type("/group members ops");
        await seen(
          alice,
          (e) => e.type === "reply" && /alice, bob/.test(String(e.text)),
          "members",
        );
        await alice.type("/group leave ops");
        await seen(bob, (e) => e.type === "group" && e.action === "leave", "leave event");
        await alice.type("/g ops still here?");
        const err = json(await seen(alice, (e) => e.type === "error", "not a member"));
        assert.equal(err.code, "not_member");
      });
      await t.step("at the end of stdin: 0 for bob, 1 for alice, whose /g failed", async () => {
        assert.equal((await alice.end()).code, 1);
        assert.equal((await bob.end()).code, 0);
      });
    } finally {
      await alice.end();
      await bob.end();
      await server.stop();
    }
  },
);

Deno.test(
  "chatz connect exits non-zero with a clear message when it cannot log in",
  opts,
  async (t) => {
    await t.step("no server within --timeout", async () => {
      const server = `tcp://127.0.0.1:${closedPort()}`;
      const args = ["connect", "--login", "alice", "--server", server, "--timeout", "500"];
      const env = { env: { CHATZ_PASSWORD: "pw" } };
      // Encrypted (the default) or not, a closed port says so, not that a key is missing.
      for (const mode of [[], ["--no-curve"]]) {
        const run = await runCli([...args, ...mode], env);
        assert.equal(run.code, 1);
        assert.match(
          run.stderr,
          /Cannot connect to "tcp:\/\/127\.0\.0\.1:\d+": nothing is listening there \(connection refused within 500 ms\)/,
        );
      }
    });
    const server = await startServerProcess();
    try {
      await t.step("a wrong password, in JSON too", async () => {
        const first = await runCli(["connect", "--login", "alice", "--server", server.endpoint], {
          env: { CHATZ_PASSWORD: "right" },
        });
        assert.equal(first.code, 0);
        const { code, stdout, stderr } = await runCli(
          ["connect", "--login", "alice", "--server", server.endpoint, "--json"],
          { env: { CHATZ_PASSWORD: "wrong" } },
        );
        assert.equal(code, 1);
        assert.match(stderr, /wrong password/);
        assert.equal(jsonLines(stdout)[0].code, "wrong_password");
      });
      await t.step("a password file", async () => {
        const file = await Deno.makeTempFile();
        await Deno.writeTextFile(file, "right\n");
        const { code } = await runCli([
          "connect",
          "--login",
          "alice",
          "--server",
          server.endpoint,
          "--password-file",
          file,
        ]);
        assert.equal(code, 0);
        await Deno.remove(file);
      });
    } finally {
      await server.stop();
    }
  },
);

Deno.test(
  "chatz serve refuses at start a --data path too long for its control socket",
  opts,
  async () => {
    const base = await Deno.makeTempDir({ prefix: "chatz-test-" });
    const data = `${base}/${"d".repeat(100)}`;
    try {
      const { code, stdout, stderr } = await runCli([
        "serve",
        "--bind",
        "tcp://127.0.0.1:*",
        "--data",
        data,
        "--no-console",
      ]);
      assert.equal(code, 1);
      assert.match(
        stderr,
        /Cannot start: the control socket ".*chatz\.sock" would be \d+ bytes long/,
      );
      assert.match(stderr, /use a shorter --data path/);
      assert.doesNotMatch(stdout, /listening/);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
);
