// Integration tests of `chatz serve --config`: precedence, refusal of bad files, and SIGHUP reloads.
// Real server processes read real TOML files; the effects are checked through real clients.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  client,
  loginError,
  runCli,
  type ServerProcess,
  startServerProcess,
  type TestClient,
} from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function configFile(text: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "chatz-config-" });
  const path = join(dir, "chatz.toml");
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("chatz serve --print-config applies file < environment < flags", opts, async () => {
  const path = await configFile(
    'rate = 5\nburst = 6\nmax_sessions = 7\nregistration = "closed"\n' +
      "[plugin_option.roll]\nmax_dice = 10\n",
  );
  const { code, stdout } = await runCli(
    ["serve", "--config", path, "--print-config", "--rate", "9"],
    { env: { CHATZ_BURST: "8" } },
  );
  assert.equal(code, 0);
  assert.match(stdout, /^rate = 9 {2}# from a flag$/m);
  assert.match(stdout, /^burst = 8 {2}# from CHATZ_BURST$/m);
  assert.match(stdout, /^max_sessions = 7 {2}# from the config file$/m);
  assert.match(stdout, /^registration = "closed" {2}# from the config file$/m);
  assert.match(stdout, /^bind = "tcp:\/\/0\.0\.0\.0:5555" {2}# default$/m);
  assert.match(
    stdout,
    /^# plugin_option: from the config file\n\[plugin_option\.roll\]\nmax_dice = "10"$/m,
  );
});

Deno.test(
  "chatz serve refuses a config file with an unknown key or a bad value",
  opts,
  async (t) => {
    const cases: [string, string, RegExp][] = [
      ["an unknown key", "rat = 3\n", /unknown key "rat" \(known keys: bind, /],
      ["a bad number", "max_sessions = 0\n", /key "max_sessions" must be a positive whole number/],
      ["a bad choice", 'sync = "always"\n', /key "sync" must be one of "normal", "full"/],
      ["a wrong type", "console = 1\n", /key "console" must be true or false/],
      ["bad TOML", "rate = \n", /Cannot read config ".*chatz\.toml": Invalid TOML document/],
    ];
    for (const [what, text, message] of cases) {
      await t.step(what, async () => {
        const path = await configFile(text);
        const { code, stderr } = await runCli(["serve", "--config", path, "--print-config"]);
        assert.equal(code, 1);
        assert.match(stderr, message);
      });
    }
    await t.step("a missing file", async () => {
      const { code, stderr } = await runCli(["serve", "--config", "/nonexistent/chatz.toml"]);
      assert.equal(code, 1);
      assert.match(stderr, /Cannot read config "\/nonexistent\/chatz\.toml": no such file/);
    });
  },
);

/** Waits for a JSON log line (--log-format json) with this event and these fields. */
function logged(server: ServerProcess, event: string, fields: Record<string, string> = {}) {
  return server.log.waitFor((line) => {
    if (!line.startsWith("{")) return false;
    const record = JSON.parse(line);
    return record.event === event &&
      Object.entries(fields).every(([key, value]) => record[key] === value);
  }, `${event} ${JSON.stringify(fields)} in the log`);
}

Deno.test(
  "SIGHUP reloads limits and registration and names what needs a restart",
  opts,
  async () => {
    const path = await configFile(
      'registration = "closed"\nmax_sessions = 1\nlog_format = "json"\n',
    );
    const server = await startServerProcess({ args: ["--config", path] });
    const clients: TestClient[] = [];
    try {
      // A closed server answers an unknown login as a wrong password.
      assert.equal(await loginError(server.endpoint, "newbie", "pw"), "wrong_password");

      await Deno.writeTextFile(
        path,
        'registration = "open"\nmax_sessions = 1\nsync = "full"\nlog_format = "json"\n',
      );
      server.log.clear();
      server.child.kill("SIGHUP");
      await logged(server, "config_reloaded", { changed: "registration" });
      await logged(server, "config_needs_restart", { settings: "sync" });
      clients.push(await client(server.endpoint, "newbie", "pw"));
      assert.equal(await loginError(server.endpoint, "newbie", "pw"), "limit_reached");

      await Deno.writeTextFile(
        path,
        'registration = "open"\nmax_sessions = 2\nlog_format = "json"\n',
      );
      server.log.clear();
      server.child.kill("SIGHUP");
      await logged(server, "config_reloaded", { changed: "maxSessionsPerAccount" });
      clients.push(await client(server.endpoint, "newbie", "pw"));

      await Deno.writeTextFile(path, "max_sessions = -1\n");
      server.log.clear();
      server.child.kill("SIGHUP");
      await server.log.waitFor(
        (l) => /"event":"config_reload_failed".*max_sessions/.test(l),
        "a refused reload",
      );
      assert.equal(await loginError(server.endpoint, "other", "pw"), undefined, "still open");
    } finally {
      for (const c of clients) await c.close();
      await server.stop();
    }
  },
);
