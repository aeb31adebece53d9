// Tests of contrib/: the systemd unit verifies, keeps its sandbox, and runs `chatz serve` with
// options that exist; the README's install steps are what these check, short of a running systemd.

import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runCli } from "./harness.ts";

const UNIT = join(ROOT, "contrib", "chatz.service");
/** The most exposure `systemd-analyze security` may rate the unit (0 safest, 10 unsandboxed). */
const MAX_EXPOSURE = 4;

function hasSystemdAnalyze(): boolean {
  try {
    return Deno.statSync("/usr/bin/systemd-analyze").isFile;
  } catch {
    return false;
  }
}

/** The unit's ExecStart command line, split into words. */
function execStart(unit: string): string[] {
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="));
  assert.ok(line, "the unit has an ExecStart line");
  return line.slice("ExecStart=".length).trim().split(/\s+/);
}

Deno.test("contrib/chatz.service starts chatz serve with options that exist", async () => {
  const unit = await Deno.readTextFile(UNIT);
  const [binary, ...args] = execStart(unit);
  assert.equal(binary, "/usr/local/bin/chatz");
  assert.equal(args[0], "serve");
  const dir = await Deno.makeTempDir({ prefix: "chatz-unit-" });
  const config = join(dir, "chatz.toml");
  await Deno.writeTextFile(config, 'registration = "closed"\n');
  // The unit's own options, with its paths moved into a temporary folder.
  const local = args.map((a) => a.replace("/etc/chatz/chatz.toml", config))
    .map((a) => a.replace("/var/lib/chatz", join(dir, "data")));
  const { code, stdout, stderr } = await runCli([...local, "--print-config"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^registration = "closed" {2}# from the config file$/m);
  assert.match(stdout, /^console = false {2}# from a flag$/m);
  for (const key of ["DynamicUser=yes", "StateDirectory=chatz", "ProtectSystem=strict"]) {
    assert.ok(unit.includes(`\n${key}\n`), `the unit sets ${key}`);
  }
  assert.ok(unit.includes("\nNoNewPrivileges=yes\n"));
  assert.ok(unit.includes("\nExecReload=/bin/kill -HUP $MAINPID\n"), "reload is SIGHUP");
});

Deno.test({
  name: "contrib/chatz.service passes systemd-analyze verify and its security rating",
  ignore: !hasSystemdAnalyze(),
  async fn() {
    // verify checks that ExecStart's program exists: point it at one that does.
    const dir = await Deno.makeTempDir({ prefix: "chatz-unit-" });
    const unit = (await Deno.readTextFile(UNIT)).replaceAll(
      "/usr/local/bin/chatz",
      Deno.execPath(),
    );
    const path = join(dir, "chatz.service");
    await Deno.writeTextFile(path, unit);
    const run = async (args: string[]) => {
      const out = await new Deno.Command("systemd-analyze", {
        args,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      return { code: out.code, text };
    };
    const verify = await run(["verify", path]);
    assert.equal(verify.code, 0, verify.text);
    assert.equal(verify.text.trim(), "", "no warnings");
    const security = await run([
      "security",
      "--offline=yes",
      `--threshold=${MAX_EXPOSURE * 10}`,
      path,
    ]);
    assert.equal(security.code, 0, security.text);
    const level = Number(
      /Overall exposure level for chatz\.service: ([\d.]+)/.exec(security.text)?.[1],
    );
    assert.ok(level <= MAX_EXPOSURE, `exposure ${level} over ${MAX_EXPOSURE}`);
  },
});
