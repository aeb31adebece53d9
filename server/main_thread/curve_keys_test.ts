// Unit tests of the server's CURVE key file: made once with mode 0600, reused, refused when unsafe.
// Each case works in its own temporary data folder.

import assert from "node:assert/strict";
import { curveKeyPair } from "zeromq";
import { curveKeyPath, loadCurveKeys } from "./curve_keys.ts";

async function withDataDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chatz-curve-" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadCurveKeys() makes the key file once and then reuses it", () =>
  withDataDir(async (dir) => {
    const first = await loadCurveKeys(dir);
    assert.equal(first.created, true);
    assert.equal(first.path, curveKeyPath(dir));
    assert.equal(Deno.statSync(first.path).mode! & 0o777, 0o600);
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(first.path)), {
      public: first.keys.publicKey,
      secret: first.keys.secretKey,
    });
    const again = await loadCurveKeys(dir);
    assert.equal(again.created, false);
    assert.deepEqual(again.keys, first.keys);
  }));

Deno.test("loadCurveKeys() refuses a key file that is unsafe or damaged", async (t) => {
  await t.step("readable by other users", () =>
    withDataDir(async (dir) => {
      await loadCurveKeys(dir);
      Deno.chmodSync(curveKeyPath(dir), 0o644);
      await assert.rejects(loadCurveKeys(dir), /other users may read it \(mode 0644\)/);
    }));
  await t.step("not the documented JSON", () =>
    withDataDir(async (dir) => {
      Deno.writeTextFileSync(curveKeyPath(dir), '{"public":"short"}', { mode: 0o600 });
      await assert.rejects(loadCurveKeys(dir), /Cannot read the CURVE key file ".*": not JSON/);
    }));
  await t.step("halves of two different key pairs", () =>
    withDataDir(async (dir) => {
      const text = JSON.stringify({
        public: curveKeyPair().publicKey,
        secret: curveKeyPair().secretKey,
      });
      Deno.writeTextFileSync(curveKeyPath(dir), text, { mode: 0o600 });
      await assert.rejects(loadCurveKeys(dir), /public key does not belong to its secret key/);
    }));
});
