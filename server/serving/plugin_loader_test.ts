// Tests of the plugin loader's import step: a broken plugin file is reported with where it broke.

import assert from "node:assert/strict";
import { importPluginDir } from "./plugin_loader.ts";

Deno.test("importPluginDir() reports a syntax error with the file, line and column", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chatz_plugins_" });
  try {
    await Deno.chmod(dir, 0o700);
    const file = `${dir}/broken.ts`;
    await Deno.writeTextFile(file, 'export default {\n  name: "broken",\n  setup( {\n};\n');
    await Deno.chmod(file, 0o600);
    const { sources, failed } = await importPluginDir(dir);
    assert.deepEqual(sources, []);
    assert.equal(failed.length, 1);
    assert.match(failed[0].error, /^Cannot import plugin file ".*broken\.ts": SyntaxError: /);
    assert.ok(failed[0].error.endsWith(`(at ${file}:4:2)`), failed[0].error);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
