// `deno task install`: puts a `chatz` command on the PATH with `deno install -g`, granting exactly
// the permissions of `deno task chatz`, and makes it run the Deno binary that installed it.

import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: this file lives in scripts/. */
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The `--allow-*` flags of the `chatz` task in deno.json: one list of permissions for both ways
 * of running chatz, so the installed command never gets more than the task.
 */
export function chatzPermissions(config: { tasks?: Record<string, string> }): string[] {
  const task = config.tasks?.chatz;
  if (task === undefined) throw new Error('Cannot install chatz: deno.json has no "chatz" task');
  const flags = task.split(/\s+/).filter((word) => /^--allow-[a-z-]+(=\S+)?$/.test(word));
  if (flags.length === 0) throw new Error('Cannot install chatz: the "chatz" task grants nothing');
  return flags;
}

/**
 * The shim `deno install` writes runs `deno` from the PATH; where Deno came through npx there is
 * none, so the shim names the binary that installed it.
 */
export function pinDeno(shim: string, deno: string): string {
  const quoted = `'${deno.replaceAll("'", `'\\''`)}'`;
  return shim.replace(/^exec deno /m, `exec ${quoted} `);
}

async function main(): Promise<number> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const flags = chatzPermissions(config);
  const root = Deno.env.get("DENO_INSTALL_ROOT") ?? join(Deno.env.get("HOME") ?? "", ".deno");
  const bin = join(root, "bin");
  const args = [
    "install",
    "--global",
    "--force",
    "--name",
    "chatz",
    ...flags,
    "--config",
    join(ROOT, "deno.json"),
    join(ROOT, "main.ts"),
  ];
  const result = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT }).spawn().status;
  if (!result.success) return result.code || 1;
  const shim = join(bin, "chatz");
  await Deno.writeTextFile(shim, pinDeno(await Deno.readTextFile(shim), Deno.execPath()));
  console.log(`Installed ${shim} with ${flags.join(" ")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
